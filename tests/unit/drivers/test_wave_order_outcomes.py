"""The wave order reads the chain of the output directory, which keeps every run's records: a
scenario of the earlier wave blocks the next one while its latest finish did not pass, not
because it failed in a run before."""

from __future__ import annotations

from pytest_mc.evidence.records import ScenarioFinished
from pytest_mc.steps.rollout import last_outcome_not_passed

ROLLOUT = "features/x.py::test_rollout[TENANT_004-A]"
OTHER = "features/x.py::test_backout[TENANT_004]"


def _finish(nodeid: str, outcome: str, tenant: str = "TENANT_004") -> ScenarioFinished:
    return ScenarioFinished(nodeid=nodeid, tenant=tenant, outcome=outcome, duration_seconds=1.0)  # type: ignore[arg-type]


def test_a_failure_of_an_earlier_run_that_passed_since_does_not_block() -> None:
    bodies = [_finish(ROLLOUT, "failed"), _finish(OTHER, "passed"), _finish(ROLLOUT, "passed")]
    assert last_outcome_not_passed(bodies, "TENANT_004") == []


def test_a_scenario_whose_latest_finish_failed_blocks() -> None:
    bodies = [_finish(ROLLOUT, "passed"), _finish(ROLLOUT, "failed"), _finish(OTHER, "passed")]
    assert [f.nodeid for f in last_outcome_not_passed(bodies, "TENANT_004")] == [ROLLOUT]
    assert last_outcome_not_passed(bodies, "TENANT_005") == []
    assert [
        f.outcome for f in last_outcome_not_passed([_finish(OTHER, "error")], "TENANT_004")
    ] == ["error"]
