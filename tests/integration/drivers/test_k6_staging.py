"""Real k6 runs against the reference staging, recorded with their catalog-derived thresholds."""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Protocol

import pytest

from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_models import K6Load
from pytest_mc.metrics.scrape import ScrapeSource
from pytest_mc.metrics.source import MetricQuery
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Verdict, judge
from pytest_mc.target.profile import TargetProfile

pytestmark = pytest.mark.integration


class Staging(Protocol):
    """What these tests use of the `reference_staging` fixture."""

    profile: TargetProfile
    catalog: QiCatalog


def test_persisted_traffic_passes_its_thresholds_and_is_recorded(
    reference_staging: Staging, tmp_path: Path
) -> None:
    staging = reference_staging
    driver = K6Driver(staging.profile, staging.catalog)
    load = K6Load(vus=2, iterations=150, duration_seconds=20)
    result = driver.run("TENANT_001", load, work_dir=tmp_path, run_id="passing")

    assert result.exit_code == 0
    assert not result.thresholds_crossed
    assert [(t.metric, t.expression, t.passed) for t in result.summary.thresholds] == [
        ("http_req_duration", "p(95)<=250", True),
        ("http_req_failed", "rate<=0.001", True),
        ("mc_non_persisted", "rate<=0.001", True),
    ]
    assert result.summary.requests == 150
    assert result.summary.failed_requests == 0
    assert (result.summary.persisted_requests, result.summary.adhoc_requests) == (150, 0)

    exported = json.loads(result.summary_path.read_text())
    assert exported["metrics"]["http_reqs"]["count"] == 150
    assert result.summary_sha256 == hashlib.sha256(result.summary_path.read_bytes()).hexdigest()
    record = result.tool_run(nodeid="k6-integration")
    assert (record.tool, record.version, record.tenant) == ("k6", "1.1.0", "TENANT_001")
    assert record.binary_sha256 == result.binary.sha256
    assert any(arg.startswith("THRESHOLDS=") for arg in record.argv)

    # k6's point estimate passed, but 150 clean requests cannot show >= 99.9% persisted.
    persisted = result.summary.persisted
    assert persisted is not None
    judgement = judge(staging.catalog.get("persisted_only_compliance"), persisted)
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.more_trials_needed is not None


def test_ad_hoc_queries_against_a_persisted_only_tenant_cross_the_threshold(
    reference_staging: Staging, tmp_path: Path
) -> None:
    staging = reference_staging
    driver = K6Driver(staging.profile, staging.catalog)
    load = K6Load(vus=2, iterations=120, duration_seconds=20, adhoc_share=0.5)
    result = driver.run("TENANT_004", load, work_dir=tmp_path, run_id="crossing")

    assert result.exit_code == 99
    assert result.activity.status == "failed"
    assert result.thresholds_crossed
    assert [(t.metric, t.expression) for t in result.summary.crossed] == [
        ("mc_non_persisted", "rate<=0.001")
    ]
    assert result.summary.crossed[0].source == "qi:persisted_only_compliance"
    summary = result.summary
    assert summary.adhoc_requests is not None
    assert summary.adhoc_requests > 0
    # TENANT_004 is persisted-only: every ad-hoc query is refused, and a refusal is not a
    # server error, so availability is untouched.
    assert summary.adhoc_refused == summary.adhoc_requests
    assert summary.failed_requests == 0
    persisted = summary.persisted
    assert persisted is not None
    judgement = judge(staging.catalog.get("persisted_only_compliance"), persisted)
    assert judgement.verdict is Verdict.FAIL


def _write_counters(source: ScrapeSource, tenant: str) -> tuple[dict[str, float], float]:
    writes, conflicts = source.sample_many(
        [
            MetricQuery.of("mc_writes_total", aggregation="sum", by=("region",), tenant=tenant),
            MetricQuery.of("mc_replication_conflicts_total", aggregation="sum", tenant=tenant),
        ]
    )
    by_region = {sample.labels["region"]: sample.value for sample in writes.samples}
    return by_region, conflicts.single() or 0.0


def _all_writes(
    staging: Staging, tmp_path: Path, keys: int | str
) -> tuple[dict[str, float], float]:
    """400 writes of the A/A TENANT_002 on `keys`: new writes by region, new conflicts."""
    source = ScrapeSource(staging.profile.metrics.endpoints)
    tenant = "TENANT_002"  # active/active at GA in the reference staging
    writes_before, conflicts_before = _write_counters(source, tenant)
    load = K6Load.model_validate(
        {"vus": 4, "iterations": 400, "duration_seconds": 30, "write_share": 1.0, "keys": keys}
    )
    result = K6Driver(staging.profile, staging.catalog).run(
        tenant, load, work_dir=tmp_path, run_id=f"keys-{keys}"
    )
    assert (result.summary.requests, result.summary.failed_requests) == (400, 0)
    time.sleep(1.0)  # replication applies within a few 0.1 s ticks
    writes_after, conflicts_after = _write_counters(source, tenant)
    new_writes = {r: writes_after[r] - writes_before.get(r, 0.0) for r in writes_after}
    # the GLB spreads an A/A tenant: both of its regions took writes
    assert len([r for r, count in new_writes.items() if count > 0]) == 2, new_writes
    return new_writes, conflicts_after - conflicts_before


def test_unique_keys_never_conflict_on_an_active_active_tenant(
    reference_staging: Staging, tmp_path: Path
) -> None:
    new_writes, conflicts = _all_writes(reference_staging, tmp_path, "unique")
    assert sum(new_writes.values()) == 400, new_writes
    assert conflicts == 0


def test_the_same_writes_on_a_shared_key_space_conflict(
    reference_staging: Staging, tmp_path: Path
) -> None:
    """The contrast that shows the conflict counter would see a load-made conflict."""
    _, conflicts = _all_writes(reference_staging, tmp_path, 2)
    assert conflicts > 0


def test_a_run_leaves_k6s_own_html_report_self_contained(
    reference_staging: Staging, tmp_path: Path
) -> None:
    driver = K6Driver(reference_staging.profile, reference_staging.catalog)
    result = driver.run("TENANT_001", K6Load(vus=1, duration_seconds=3), work_dir=tmp_path)
    assert result.report_path is not None, "k6 wrote no web-dashboard report"
    html = result.report_path.read_text(encoding="utf-8")
    assert "<html" in html.lower()
    assert html.rstrip().endswith("</html>")
    # one file an auditor opens offline: nothing it loads from elsewhere
    assert not re.search(r"""(?:src|href)\s*=\s*["']https?://""", html)
    # the dashboard ran with its HTTP server off, and k6's REST API too
    assert tuple(result.activity.argv[2:4]) == ("--address", "")
