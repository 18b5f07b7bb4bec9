"""Thresholds from the QI catalog and the SLO baseline; the bounded, recorded k6 command line."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from pytest_mc.drivers.k6 import (
    K6Driver,
    derive_thresholds,
    format_number,
    script_env,
    tenant_script,
)
from pytest_mc.drivers.k6_models import K6Binary, K6Load
from pytest_mc.errors import InputError, UnsafeTargetError
from pytest_mc.policy.catalog import QiCatalog, load_catalog
from pytest_mc.target.profile import TargetProfile

PROFILE: dict[str, object] = {
    "name": "unit-staging",
    "environment": "staging",
    "allowed_hosts": ["127.0.0.1"],
    "time_scale": 600,
    "glb_url": "http://127.0.0.1:9",
    "metrics": {"endpoints": [{"component": "glb", "url": "http://127.0.0.1:9/metrics"}]},
    "regions": [{"id": "eu-west", "jurisdiction": "eu"}],
    "tenants": [
        {
            "id": "TENANT_001",
            "wave": "ga",
            "residency": "eu",
            "regions": ["eu-west"],
            "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
        },
        {
            "id": "TENANT_009",
            "wave": "B",
            "residency": "eu",
            "regions": ["eu-west"],
            "slo_baseline": {"availability": 0.99, "latency_p95_ms": 400.5},
        },
    ],
}
FAKE_BINARY = K6Binary(
    path=Path("/opt/k6/bin/k6"), source="profile", version="1.1.0", sha256="0" * 64
)


@pytest.fixture(scope="module")
def catalog() -> QiCatalog:
    return load_catalog()


def profile(**changes: object) -> TargetProfile:
    return TargetProfile.model_validate({**PROFILE, **changes})


def with_compliance_target(catalog: QiCatalog, target: float) -> QiCatalog:
    qis = tuple(
        qi.model_copy(update={"target": target}) if qi.id == "persisted_only_compliance" else qi
        for qi in catalog.qis
    )
    return catalog.model_copy(update={"qis": qis})


def expressions(catalog: QiCatalog, target: TargetProfile, tenant: str) -> dict[str, str]:
    derived = derive_thresholds(catalog, target.tenant(tenant))
    return {spec.metric: spec.expression for spec in derived.items}


def test_thresholds_come_from_the_slo_baseline_and_the_catalog(catalog: QiCatalog) -> None:
    assert expressions(catalog, profile(), "TENANT_001") == {
        "http_req_duration": "p(95)<=250",
        "http_req_failed": "rate<=0.001",
        "mc_non_persisted": "rate<=0.001",
    }


def test_each_tenant_gets_its_own_baseline(catalog: QiCatalog) -> None:
    found = expressions(catalog, profile(), "TENANT_009")
    assert found["http_req_duration"] == "p(95)<=400.5"
    assert found["http_req_failed"] == "rate<=0.01"


def test_the_ad_hoc_threshold_follows_the_catalog_target(catalog: QiCatalog) -> None:
    edited = with_compliance_target(catalog, 0.99)
    assert expressions(edited, profile(), "TENANT_001")["mc_non_persisted"] == "rate<=0.01"


def test_every_threshold_names_its_source(catalog: QiCatalog) -> None:
    derived = derive_thresholds(catalog, profile().tenant("TENANT_001"))
    assert [spec.source for spec in derived.items] == [
        "slo_baseline.latency_p95_ms of TENANT_001",
        "slo_baseline.availability of TENANT_001",
        "qi:persisted_only_compliance",
    ]


def test_the_script_reads_thresholds_as_compact_json_grouped_by_metric(catalog: QiCatalog) -> None:
    derived = derive_thresholds(catalog, profile().tenant("TENANT_001"))
    text = derived.as_k6_json()
    assert " " not in text
    assert json.loads(text) == {
        "http_req_duration": ["p(95)<=250"],
        "http_req_failed": ["rate<=0.001"],
        "mc_non_persisted": ["rate<=0.001"],
    }


def test_numbers_are_written_without_float_noise() -> None:
    assert format_number(1 - 0.999) == "0.001"
    assert format_number(250.0) == "250"
    assert format_number(0.25) == "0.25"


def test_the_script_holds_no_policy_numbers() -> None:
    source = tenant_script().read_text()
    # The only thresholds in the script are its documented zero-tolerance defaults.
    assert re.findall(r"'(?:p\(\d+\)|rate)[<>=]+[\d.]+'", source) == ["'rate==0'", "'rate==0'"]
    assert "250" not in source
    assert "0.001" not in source


def test_the_command_line_exports_the_summary_and_passes_every_setting(catalog: QiCatalog) -> None:
    driver = K6Driver(profile(), catalog, binary=FAKE_BINARY)
    load = K6Load(vus=3, duration_seconds=4.5, iterations=90, adhoc_share=0.25)
    argv = driver.argv("TENANT_001", load, summary_path=Path("/w/s.json"), run_id="r1")
    assert argv[:8] == [
        "/opt/k6/bin/k6",
        "run",
        "--address",
        "",  # k6's REST API off: concurrent runs never contend for its port 6565
        "--quiet",
        "--no-color",
        "--summary-export",
        "/w/s.json",
    ]
    assert "--no-summary" not in argv  # it would suppress --summary-export
    assert argv[-1] == str(tenant_script())
    env = dict(value.split("=", 1) for flag, value in itertools.pairwise(argv) if flag == "-e")
    assert env == {
        "GLB_URL": "http://127.0.0.1:9",
        "TENANT": "TENANT_001",
        "PURPOSE": "service",
        "ADHOC_SHARE": "0.25",
        "WRITE_SHARE": "0.5",
        "KEYS": "100",
        "VUS": "3",
        "DURATION": "4500ms",
        "ITERATIONS": "90",
        "RUN_ID": "r1",
        # the bound of the p(95) threshold, which the script counts each request against
        "LATENCY_OBJECTIVE_MS": "250",
        "THRESHOLDS": derive_thresholds(catalog, profile().tenant("TENANT_001")).as_k6_json(),
    }


def test_a_load_without_iterations_is_bounded_by_its_duration_alone() -> None:
    pairs = dict(script_env(profile(), "TENANT_001", K6Load(duration_seconds=2), run_id="r"))
    assert pairs["DURATION"] == "2000ms"
    assert "ITERATIONS" not in pairs


def test_plan_time_is_compressed_by_the_time_scale() -> None:
    load = K6Load.for_plan_duration(600, time_scale=600, vus=2)
    assert load.duration_seconds == 1.0
    assert load.vus == 2


@pytest.mark.parametrize(
    "fields",
    [{"vus": 0}, {"duration_seconds": 0}, {"iterations": 0}, {"adhoc_share": 1.5}, {"vus": 5000}],
)
def test_unbounded_or_nonsensical_loads_are_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="validation error for K6Load"):
        K6Load.model_validate(fields)


def test_an_unknown_tenant_is_an_input_error_before_k6_starts(
    catalog: QiCatalog, tmp_path: Path
) -> None:
    driver = K6Driver(profile(), catalog, binary=FAKE_BINARY)
    with pytest.raises(InputError, match="tenant 'TENANT_404' is not in profile 'unit-staging'"):
        driver.run("TENANT_404", K6Load(), work_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_load_is_never_sent_to_a_host_outside_allowed_hosts(
    catalog: QiCatalog, tmp_path: Path
) -> None:
    driver = K6Driver(profile(glb_url="http://mc.example.com"), catalog, binary=FAKE_BINARY)
    with pytest.raises(UnsafeTargetError, match=r"host 'mc\.example\.com' is not in allowed_hosts"):
        driver.run("TENANT_001", K6Load(), work_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_load_is_never_sent_to_a_target_that_is_not_a_staging(
    catalog: QiCatalog, tmp_path: Path
) -> None:
    driver = K6Driver(profile(environment="production"), catalog, binary=FAKE_BINARY)
    with pytest.raises(
        UnsafeTargetError,
        match=r"^refused to run k6 load on TENANT_001 against target 'unit-staging': environment",
    ):
        driver.run("TENANT_001", K6Load(), work_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
