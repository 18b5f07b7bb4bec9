"""The scrape source against the reference staging: a replication-delay fault raises the lag."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from metrics_traffic import TENANT, Faults, steady_writes, wait_for_status

from pytest_mc.metrics.evaluator import WindowEvaluator, WindowStatus
from pytest_mc.metrics.factory import evaluator_for, open_metric_source, store_for_profile
from pytest_mc.metrics.scrape import ScrapeRecorder, ScrapeSource
from pytest_mc.metrics.source import MetricQuery

pytestmark = pytest.mark.integration


def _lag(tenant: str) -> MetricQuery:
    return MetricQuery.of("mc_replication_lag_seconds", aggregation="max", tenant=tenant)


@pytest.fixture
def scrape(reference_staging, tmp_path: Path) -> Iterator[tuple[ScrapeSource, WindowEvaluator]]:
    profile = reference_staging.profile
    store = store_for_profile(profile, reference_staging.catalog, tmp_path / "samples.log")
    source = open_metric_source(profile, store)
    assert isinstance(source, ScrapeSource)
    try:
        yield source, evaluator_for(profile, source)
    finally:
        source.close()
        store.close()


def test_replication_delay_raises_lag_and_sustains_the_tripwire_condition(
    reference_staging, scrape: tuple[ScrapeSource, WindowEvaluator]
) -> None:
    source, evaluator = scrape
    profile = reference_staging.profile
    scale = profile.time_scale
    lag_qi = reference_staging.catalog.get("tripwire_replication_lag")
    queries = [_lag(TENANT), _lag("TENANT_002")]
    faults = Faults(profile, reference_staging.admin_secret)
    recorder = ScrapeRecorder(source, queries, profile.metrics.sample_interval_seconds)

    def sustained(tenant: str):
        return evaluator.sustained_for_qi(lag_qi, _lag(tenant), values="wall_seconds")

    with steady_writes(profile), recorder:
        healthy = wait_for_status(lambda: sustained(TENANT), WindowStatus.CLEAR, 15)
        assert healthy.status is WindowStatus.CLEAR, healthy.reason
        assert healthy.samples >= 5

        # 0.5 s wall is 300 s plan at the reference scale: five times the 60 s tripwire
        fault = faults.replication_delay(TENANT, 0.5)
        try:
            breached = wait_for_status(lambda: sustained(TENANT), WindowStatus.HOLDS, 20)
            assert breached.status is WindowStatus.HOLDS, breached.reason
            assert (breached.value or 0.0) > 60.0
            assert (breached.held_plan_seconds or 0.0) >= 600
            lag_now = source.sample(_lag(TENANT)).single()
            assert (lag_now or 0.0) * scale > 60.0
            bystander = sustained("TENANT_002")
            assert bystander.status is not WindowStatus.HOLDS, bystander.reason
        finally:
            faults.remove(fault)
        recovered = wait_for_status(lambda: sustained(TENANT), WindowStatus.CLEAR, 20)
        assert recovered.status is WindowStatus.CLEAR, recovered.reason
    faults.close()
    assert recorder.scrapes > 0
    assert source.store is not None
    assert source.store.points_written > 0
