"""The lag probe against a real reference staging: on a healthy staging the markers prove no
lag the target's metric does not report, and under a replication delay the bracket holds the
delay and the target's metric (healthy, not under-reporting) agrees with it."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from pytest_mc.drivers.dataplane import DataPlaneClient
from pytest_mc.drivers.lag_probe import LagObservation, compare_lag, probe_lag
from pytest_mc.metrics.factory import open_metric_source
from pytest_mc.metrics.source import MetricQuery

pytestmark = pytest.mark.integration

TENANT = "TENANT_002"  # active/active on two EU regions in the reference staging
DELAY_WALL_SECONDS = 0.15  # 90 s plan at time scale 600
# Long enough that 40% of it falls below the observed lag by more than the tolerance and one
# sample of the gauge: 300 s plan against 120 s reported.
LONG_DELAY_WALL_SECONDS = 0.5
# The slack of these checks beside the gauge's sampling (the catalog has no agreement
# tolerance yet, see docs/verification-power.md).
TOLERANCE_PLAN_SECONDS = 30.0


def _admin(staging: Any, method: str, path: str, body: object | None = None) -> Any:
    assert staging.profile.admin is not None
    response = httpx.request(
        method,
        f"{staging.profile.admin.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {staging.admin_secret}"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def _probe(staging: Any) -> tuple[LagObservation, float | None]:
    """The probe's observation, and the most the target's metric reported while it ran
    (sampled at the profile's interval: the gauge is the age of the oldest change not yet
    applied, so only a reading taken while a marker is in flight can show its lag)."""
    profile = staging.profile
    tenant = next(t for t in profile.tenants if t.id == TENANT)
    source, peer = tenant.regions[0], tenant.regions[1]
    query = MetricQuery.of("mc_tenant_replication_lag_seconds", aggregation="max", tenant=TENANT)
    metrics = open_metric_source(profile)
    reported: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            value = metrics.sample(query).single()
            if value is not None:
                reported.append(value * profile.time_scale)
            # Four reads per target sample: the allowance covers the target's sampling only.
            done.wait(profile.metrics.sample_interval_seconds / 4)

    sampler = threading.Thread(target=sample, name="lag-metric-sampler")
    sampler.start()
    try:
        with DataPlaneClient(profile) as client:
            observation = probe_lag(
                client, TENANT, source=source, peer=peer, time_scale=profile.time_scale
            )
        time.sleep(2 * profile.metrics.sample_interval_seconds)
    finally:
        done.set()
        sampler.join(timeout=10)
        metrics.close()
    return observation, max(reported, default=None)


def _sample_plan_seconds(staging: Any) -> float:
    return float(staging.profile.metrics.sample_interval_seconds * staging.profile.time_scale)


def _agrees(
    observation: LagObservation, reported: float | None, sample_interval_plan_seconds: float
) -> None:
    comparison = compare_lag(
        observation,
        reported,
        metric="mc_tenant_replication_lag_seconds",
        tolerance_plan_seconds=TOLERANCE_PLAN_SECONDS,
        # The staging samples its lag every sample interval; markers alone leave the gauge
        # a sawtooth, so a reading can miss up to one interval of a marker's lag.
        sampling_allowance_plan_seconds=sample_interval_plan_seconds,
    )
    assert not comparison.disagrees, comparison.message()


def test_a_healthy_staging_shows_a_small_lag_that_its_metric_does_not_contradict(
    reference_staging: Any,
) -> None:
    observation, reported = _probe(reference_staging)
    assert len(observation.replicated) == len(observation.markers) == 5, observation.describe()
    upper = observation.plan(observation.upper_wall_seconds)
    assert upper is not None
    assert upper < 60.0, observation.describe()  # inside the 1m gate, with its resolution
    _agrees(observation, reported, _sample_plan_seconds(reference_staging))


def _delayed_probe(staging: Any, delay_wall_seconds: float) -> tuple[LagObservation, float | None]:
    fault = _admin(
        staging,
        "POST",
        "/admin/faults",
        {
            "kind": "replication-delay",
            "tenant": TENANT,
            "params": {"delay_seconds": delay_wall_seconds},
        },
    )
    try:
        time.sleep(0.5)
        return _probe(staging)
    finally:
        _admin(staging, "DELETE", f"/admin/faults/{fault['id']}")


@pytest.mark.parametrize("delay_wall_seconds", [DELAY_WALL_SECONDS, LONG_DELAY_WALL_SECONDS])
def test_a_replication_delay_is_bracketed_by_the_markers(
    reference_staging: Any, delay_wall_seconds: float
) -> None:
    observation, reported = _delayed_probe(reference_staging, delay_wall_seconds)
    lower = observation.lower_wall_seconds
    upper = observation.upper_wall_seconds
    assert lower is not None, observation.describe()
    assert upper is not None, observation.describe()
    assert lower <= delay_wall_seconds + 0.05, observation.describe()
    assert upper >= delay_wall_seconds, observation.describe()
    assert observation.plan(lower) > 60.0, observation.describe()
    _agrees(observation, reported, _sample_plan_seconds(reference_staging))


def test_a_metric_that_reports_40_percent_of_the_lag_disagrees_with_the_markers(
    staging_with_defect: Any,
) -> None:
    with staging_with_defect("lag-metric-under-reports") as staging:
        observation, reported = _delayed_probe(staging, LONG_DELAY_WALL_SECONDS)
        comparison = compare_lag(
            observation,
            reported,
            metric="mc_tenant_replication_lag_seconds",
            tolerance_plan_seconds=TOLERANCE_PLAN_SECONDS,
            sampling_allowance_plan_seconds=_sample_plan_seconds(staging),
        )
    assert reported is not None
    assert reported < 0.5 * LONG_DELAY_WALL_SECONDS * staging.profile.time_scale
    assert comparison.disagrees, comparison.message()
    assert comparison.message().startswith(
        "target metric disagrees with observation: mc_tenant_replication_lag_seconds reports "
    )
