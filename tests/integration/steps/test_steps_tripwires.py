"""Chaos, tripwire and DR drill steps against the reference staging."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

FEATURE = """\
@plan:A.3
Feature: Tripwire and drill steps
  Scenario: Sustained replication lag biases the GLB
    Given tenant TENANT_002 of the target profile
    And k6 keeps traffic flowing on tenant TENANT_002 for 2h of plan time
    When the "replication-delay" experiment runs on tenant TENANT_002 for 1h of plan time
    Then within 20m the GLB biases tenant TENANT_002 to the healthy region
    And the experiment rolled back and the steady state returned

  Scenario: A DR drill measures RPO and RTO
    Given tenant TENANT_003 of the target profile
    When a DR drill kills the serving region of tenant TENANT_003
    Then the drill's RPO is within 5m
    And the drill's RTO is within 30m
    And the tenant's regions converged after the drill
"""


def test_tripwire_and_drill_steps(tmp_path: Path, reference_staging, run_feature) -> None:
    run = run_feature(reference_staging.profile_path, FEATURE)
    assert run.returncode == 0, run.output
    lag = run.tenant_section("TENANT_002")
    [observation] = lag["tripwires"]
    assert observation["qi_id"] == "tripwire_replication_lag"
    assert observation["verdict"] == "pass"
    # the watch sees the condition up to a few samples after the target does
    assert 600 * 0.5 <= observation["time_to_action_seconds"] <= 1200
    charts = [a for a in lag["artifacts"] if a["artifact_kind"] == "chart"]
    assert [c["media_type"] for c in charts] == ["image/png"]
    png = (tmp_path / "out" / charts[0]["path"]).read_bytes()
    assert png.startswith(b"\x89PNG")
    drill = run.tenant_section("TENANT_003")
    [timeline] = drill["drills"]
    assert timeline["rto_seconds"] is not None
    assert {m["qi_id"]: m["verdict"] for m in drill["measurements"]} == {
        "rpo": "pass",
        "rto": "pass",
    }
