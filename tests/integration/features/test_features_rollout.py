"""features/rollout.feature end to end for wave A, on a staging at a high time scale."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from pytest_mc.target.local import LocalStaging, start_local_staging, stop_local_staging

pytestmark = pytest.mark.integration

# 1200 plan seconds per wall second: the 24h bake holds 72 s wall (enough writes for the
# conflict gate's bound), and 10m windows keep 5 samples at the 0.1 s sample interval.
TIME_SCALE = 1200
SAMPLE_INTERVAL = 0.1


@pytest.fixture(scope="module")
def fast_staging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStaging]:
    staging = start_local_staging(
        tmp_path_factory.mktemp("fast-staging"),
        time_scale=TIME_SCALE,
        sample_interval=SAMPLE_INTERVAL,
    )
    try:
        yield staging
    finally:
        with contextlib.suppress(Exception):
            stop_local_staging(staging)


def test_wave_b_does_not_start_before_wave_a_is_green(
    fast_staging: LocalStaging, run_project_feature
) -> None:
    run = run_project_feature(fast_staging.profile_path, "rollout.feature", "-k", "TENANT_005")
    assert run.returncode == 1, run.output
    assert "wave B tenant TENANT_005 cannot start, earlier tenant TENANT_004" in run.output


def test_wave_a_rolls_out_through_gated_stages(
    fast_staging: LocalStaging, run_project_feature
) -> None:
    run = run_project_feature(fast_staging.profile_path, "rollout.feature", "-k", "TENANT_004")
    assert run.returncode == 0, run.output
    verdicts: dict[str, list[str]] = {}
    for measurement in run.tenant_section("TENANT_004")["measurements"]:
        verdicts.setdefault(measurement["qi_id"], []).append(measurement["verdict"])
    for stage_qi in ("stage_bake", "stage_canary_20", "stage_canary_50", "stage_ga_soak"):
        assert verdicts[stage_qi] == ["pass"], verdicts
    # four stages, then the 14-day soak at GA (its slices, its days and all of it together)
    for gate in ("replication_lag", "conflict_rate", "privacy_violations", "budget_utilization"):
        assert verdicts[gate][:4] == ["pass"] * 4, (gate, verdicts[gate])
        assert len(verdicts[gate]) > 4 + 14, (gate, verdicts[gate])
        allowed = {"pass", "inconclusive"} if gate == "conflict_rate" else {"pass"}
        assert set(verdicts[gate][4:]) <= allowed, (gate, verdicts[gate])
    days = [d for d in run.tenant_section("TENANT_004")["days"] if d["tenant"] == "TENANT_004"]
    assert [d["day_index"] for d in days] == list(range(14))
    assert all(d["green"] and d["rehearsal"] for d in days), days
    assert verdicts["expansion_green_streak"] == ["pass"]
    assert verdicts["rpo"] == ["pass"]
    assert verdicts["rto"] == ["pass"]
