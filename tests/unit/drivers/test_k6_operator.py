"""The k6-operator TestRun manifest and `mc-verify k6 operator-manifest`."""

from __future__ import annotations

import base64
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pytest_mc.cli.k6 import k6
from pytest_mc.drivers.k6 import derive_thresholds, script_env
from pytest_mc.drivers.k6_models import K6Load
from pytest_mc.drivers.k6_operator import operator_manifest
from pytest_mc.errors import InputError
from pytest_mc.policy.catalog import QiCatalog, load_catalog
from pytest_mc.target.profile import TargetProfile

PROFILE: dict[str, object] = {
    "name": "unit-staging",
    "environment": "staging",
    "allowed_hosts": ["127.0.0.1"],
    "glb_url": "http://127.0.0.1:9",
    "metrics": {"endpoints": [{"component": "glb", "url": "http://127.0.0.1:9/metrics"}]},
    "regions": [{"id": "eu-west", "jurisdiction": "eu"}],
    "tenants": [
        {
            "id": "TENANT_004",
            "wave": "A",
            "residency": "eu",
            "regions": ["eu-west"],
            "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
        }
    ],
}


@pytest.fixture(scope="module")
def catalog() -> QiCatalog:
    return load_catalog()


def profile(**changes: object) -> TargetProfile:
    return TargetProfile.model_validate({**PROFILE, **changes})


def arguments_env(arguments: str) -> dict[str, str]:
    tokens = shlex.split(arguments)
    assert tokens == arguments.split(" ")  # survives both space-splitting and a shell
    assert tokens[::2] == ["-e"] * (len(tokens) // 2)
    return dict(token.split("=", 1) for token in tokens[1::2])


def test_the_manifest_is_a_k6_operator_testrun(catalog: QiCatalog) -> None:
    load = K6Load(vus=40, duration_seconds=600)
    manifest = operator_manifest(
        profile(), catalog, "TENANT_004", load, parallelism=4, namespace="load"
    )
    document = yaml.safe_load(manifest.to_yaml())
    assert document["apiVersion"] == "k6.io/v1alpha1"
    assert document["kind"] == "TestRun"
    assert document["metadata"]["name"] == "mc-tenant-004-pytest-mc"
    assert document["metadata"]["namespace"] == "load"
    assert document["spec"]["parallelism"] == 4
    assert document["spec"]["script"] == {
        "configMap": {"name": "mc-k6-scripts", "file": "tenant-traffic.js"}
    }


def test_the_arguments_carry_the_local_runs_variables_and_thresholds(catalog: QiCatalog) -> None:
    load = K6Load(vus=40, duration_seconds=600, iterations=100_000, adhoc_share=0.01)
    manifest = operator_manifest(profile(), catalog, "TENANT_004", load, parallelism=4)
    env = arguments_env(manifest.spec.arguments)
    encoded = env.pop("THRESHOLDS_B64")
    derived = derive_thresholds(catalog, profile().tenant("TENANT_004"))
    assert env == dict(
        script_env(profile(), "TENANT_004", load, run_id="pytest-mc", thresholds=derived)
    )
    # each pod counts its requests against the latency bound, so the pods' summaries merge
    assert env["LATENCY_OBJECTIVE_MS"] == "250"
    thresholds = derived.as_k6_json()
    padded = encoded + "=" * (-len(encoded) % 4)
    assert base64.urlsafe_b64decode(padded).decode() == thresholds
    assert manifest.metadata.annotations["pytest-mc/thresholds"] == thresholds
    assert manifest.metadata.annotations["pytest-mc/qi-catalog"] == (
        f"{catalog.version} {catalog.digest}"
    )


def test_fewer_vus_than_runner_pods_are_refused(catalog: QiCatalog) -> None:
    with pytest.raises(InputError, match="2 VUs cannot be split over 4 runner pods"):
        operator_manifest(profile(), catalog, "TENANT_004", K6Load(vus=2), parallelism=4)


def test_a_value_a_shell_would_mangle_is_refused(catalog: QiCatalog) -> None:
    odd = profile(glb_url="http://127.0.0.1:9/?a=1&b=2")
    with pytest.raises(InputError, match=r"GLB_URL='http://127\.0\.0\.1:9/\?a=1&b=2' cannot go"):
        operator_manifest(odd, catalog, "TENANT_004", K6Load(vus=4), parallelism=2)


def test_an_invalid_kubernetes_name_is_refused(catalog: QiCatalog) -> None:
    with pytest.raises(InputError, match="config map 'My_Scripts' is not a valid Kubernetes"):
        operator_manifest(
            profile(), catalog, "TENANT_004", K6Load(vus=4), parallelism=2, config_map="My_Scripts"
        )


def write_profile(tmp_path: Path) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(PROFILE, sort_keys=False))
    return path


def test_cli_prints_the_manifest(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        k6,
        [
            "operator-manifest",
            "--target",
            str(write_profile(tmp_path)),
            "--tenant",
            "TENANT_004",
            "--parallelism",
            "3",
            "--vus",
            "30",
            "--duration",
            "15m",
        ],
    )
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.output)
    assert document["spec"]["parallelism"] == 3
    env = arguments_env(document["spec"]["arguments"])
    assert (env["VUS"], env["DURATION"]) == ("30", "900000ms")


def test_cli_writes_the_manifest_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "testrun.yaml"
    result = CliRunner().invoke(
        k6,
        [
            "operator-manifest",
            "--target",
            str(write_profile(tmp_path)),
            "--tenant",
            "TENANT_004",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())["kind"] == "TestRun"


def test_cli_unknown_tenant_raises_an_input_error_for_main_to_print(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        k6,
        ["operator-manifest", "--target", str(write_profile(tmp_path)), "--tenant", "TENANT_404"],
    )
    assert isinstance(result.exception, InputError)
    assert result.exception.exit_code == 2
    assert str(result.exception) == (
        "tenant 'TENANT_404' is not in profile 'unit-staging' (known: TENANT_004)"
    )
