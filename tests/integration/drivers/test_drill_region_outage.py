"""A DR drill against a real reference staging: RPO/RTO measured from markers, convergence."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_mc.drivers.drill import read_markers, run_drill
from pytest_mc.evidence.records import DrillTimeline

pytestmark = pytest.mark.integration


def test_region_outage_drill_measures_rpo_and_rto(reference_staging: Any, tmp_path: Path) -> None:
    profile = reference_staging.profile
    result = run_drill(profile, "TENANT_002", workdir=tmp_path, outage_seconds=1.5)

    assert result.mode == "active-active"
    assert {result.region_lost, result.survivor} == {"eu-west", "eu-central"}
    assert result.markers_acknowledged > 0
    # RTO: loss → first acknowledged write of sustained service, through the GLB.
    assert result.rto_wall_seconds is not None
    assert math.isfinite(result.rto_wall_seconds)
    assert result.rto_wall_seconds > 0
    assert result.rto_plan_seconds == pytest.approx(result.rto_wall_seconds * profile.time_scale)
    assert result.served_again_at is not None
    assert result.served_again_at > result.loss_at
    # RPO: age of the acknowledged data the survivor did not have.
    assert math.isfinite(result.rpo_wall_seconds)
    assert result.rpo_wall_seconds >= 0
    assert result.rpo_plan_seconds == pytest.approx(result.rpo_wall_seconds * profile.time_scale)
    assert (result.rpo_wall_seconds == 0) == (result.markers_missing_at_loss == 0)
    # The region came back and both regions hold every acknowledged marker.
    assert result.chaos.rolled_back
    assert result.chaos.steady_state_restored
    assert result.converged
    for region in profile.regions:
        if region.id in (result.region_lost, result.survivor):
            assert region.url is not None
            held = read_markers(region.url, "TENANT_002", result.drill_id)
            assert len(held) >= result.markers_acknowledged

    names = [event.event for event in result.events]
    for expected in (
        "writer_started",
        "first_ack",
        "outage_injected",
        "region_lost",
        "survivor_read",
        "served_again",
        "rollback_started",
        "region_restored",
        "writer_stopped",
        "converged",
    ):
        assert expected in names
    times = [event.at for event in result.events]
    assert times == sorted(times)
    assert names.index("region_lost") < names.index("served_again") < names.index("converged")

    timeline = result.timeline(nodeid="drill")
    assert isinstance(timeline, DrillTimeline)
    assert timeline.rpo_seconds == result.rpo_plan_seconds
    assert timeline.rto_seconds == result.rto_plan_seconds
    assert timeline.region_lost == result.region_lost

    journal = json.loads(result.chaos.journal_path.read_text())
    assert journal["run"][0]["activity"]["name"] == "inject-region-crash"
    assert reference_staging.admin_secret not in result.chaos.journal_path.read_text()
    assert profile.admin is not None
    listed = httpx.get(
        f"{profile.admin.url}/admin/faults",
        headers={"Authorization": f"Bearer {reference_staging.admin_secret}"},
        timeout=10,
    ).json()
    assert listed["faults"] == []
