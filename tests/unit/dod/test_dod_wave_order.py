"""The wave order (plan §A.2) read from chains built for the purpose: wave B may start only
when every wave A tenant reached GA green, judged on the latest attempt of each scenario."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pytest_mc.dod.wave_order import earlier_wave_tenants, wave_blockers
from pytest_mc.evidence.records import (
    CategoryVerdict,
    DayVerdict,
    Measurement,
    ScenarioFinished,
    ScenarioStarted,
)
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Verdict

WAVES = {"TENANT_001": "ga", "TENANT_004": "A", "TENANT_005": "B", "TENANT_006": "B"}
ROLLOUT = "features/rollout.feature::test_rollout[TENANT_004-A]"
BACKOUT = "features/backout.feature::test_backout[TENANT_004]"
DAY = 3600.0


def _started(nodeid: str, tenant: str = "TENANT_004") -> ScenarioStarted:
    return ScenarioStarted(nodeid=nodeid, scenario=nodeid, tenant=tenant)


def _finished(nodeid: str, outcome: str, tenant: str = "TENANT_004") -> ScenarioFinished:
    return ScenarioFinished(nodeid=nodeid, tenant=tenant, outcome=outcome, duration_seconds=1.0)


def _measured(qi_id: str, verdict: Verdict, nodeid: str | None = ROLLOUT) -> Measurement:
    return Measurement(
        qi_id=qi_id,
        tenant="TENANT_004",
        nodeid=nodeid,
        value=1.0,
        unit="s",
        comparator="<=",
        threshold=1.0,
        verdict=verdict,
        reason="built for the test",
        source="test",
    )


def _days(count: int) -> list[DayVerdict]:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    green = CategoryVerdict(category="slo", verdict=Verdict.PASS, qi_ids=(), reasons=())
    return [
        DayVerdict(
            bake_id="bake-TENANT_004",
            tenant="TENANT_004",
            day_index=index,
            day_plan_seconds=DAY,
            plan_start_seconds=index * DAY,
            plan_end_seconds=(index + 1) * DAY,
            started_at=start + timedelta(seconds=index * 3),
            ended_at=start + timedelta(seconds=index * 3 + 3),
            time_scale=1200.0,
            slo=green,
            cost=green.model_copy(update={"category": "cost"}),
            privacy=green.model_copy(update={"category": "privacy"}),
            green=True,
            rehearsal=True,
            scale="1h at time scale 1200",
        )
        for index in range(count)
    ]


def _attempt(
    outcome: str, soak: Verdict = Verdict.PASS, bake_gate: Verdict = Verdict.PASS
) -> list[object]:
    """One attempt of wave A's rollout: the stage gates, the bake's slice gate (no scenario
    id: the bake writes it), the GA soak, the finish."""
    return [
        _started(ROLLOUT),
        _measured("replication_lag", Verdict.PASS),
        _measured("budget_utilization", bake_gate, nodeid=None),
        _measured("stage_ga_soak", soak),
        _finished(ROLLOUT, outcome),
    ]


def _blocked(bodies: list[object], catalog: QiCatalog, tenant: str = "TENANT_005") -> list[str]:
    return [f"{b.tenant}: {b.reason}" for b in wave_blockers(bodies, WAVES, tenant, catalog)]


def test_a_wave_a_rollout_that_failed_keeps_wave_b_from_starting(catalog: QiCatalog) -> None:
    bodies = [*_attempt("failed", soak=Verdict.FAIL), *_days(14)]
    assert _blocked(bodies, catalog) == [f"TENANT_004: the latest attempt of {ROLLOUT} failed"]
    assert _blocked(bodies, catalog, "TENANT_006") == _blocked(bodies, catalog)


def test_a_green_wave_a_lets_wave_b_start(catalog: QiCatalog) -> None:
    assert _blocked([*_attempt("passed"), *_days(14)], catalog) == []


def test_a_failure_of_an_earlier_run_that_passed_since_does_not_block(catalog: QiCatalog) -> None:
    bodies = [
        *_attempt("failed", soak=Verdict.FAIL, bake_gate=Verdict.FAIL),
        _started(BACKOUT),
        _finished(BACKOUT, "passed"),
        *_attempt("passed"),
        *_days(14),
    ]
    assert _blocked(bodies, catalog) == []


def test_a_scenario_whose_latest_attempt_failed_blocks_though_it_passed_before(
    catalog: QiCatalog,
) -> None:
    bodies = [*_attempt("passed"), _started(BACKOUT), _finished(BACKOUT, "error"), *_days(14)]
    assert _blocked(bodies, catalog) == [f"TENANT_004: the latest attempt of {BACKOUT} error"]


def test_an_interrupted_attempt_blocks(catalog: QiCatalog) -> None:
    bodies = [*_attempt("passed"), *_days(14), *_attempt("passed")[:-1]]
    assert _blocked(bodies, catalog) == [f"TENANT_004: its scenario {ROLLOUT} never finished"]


def test_a_gate_the_bake_failed_in_the_latest_attempt_blocks(catalog: QiCatalog) -> None:
    bodies = [*_attempt("passed", bake_gate=Verdict.FAIL), *_days(14)]
    assert _blocked(bodies, catalog) == [
        "TENANT_004: gate(s) budget_utilization failed in its latest attempt"
    ]


@pytest.mark.parametrize(
    ("bodies", "reason"),
    [
        ([_started(BACKOUT), _finished(BACKOUT, "passed")], "no GA soak is recorded for it"),
        (_attempt("passed", soak=Verdict.INCONCLUSIVE), "its GA soak did not pass"),
    ],
)
def test_a_wave_a_tenant_without_a_passed_ga_soak_blocks(
    bodies: list[object], reason: str, catalog: QiCatalog
) -> None:
    assert _blocked([*bodies, *_days(14)], catalog) == [f"TENANT_004: {reason}"]


def test_a_wave_a_tenant_short_of_the_green_streak_blocks(catalog: QiCatalog) -> None:
    assert _blocked([*_attempt("passed"), *_days(13)], catalog) == [
        "TENANT_004: it has been green for 13 consecutive day(s), the plan needs 14 before "
        "expansion"
    ]


def test_only_earlier_expansion_waves_are_waited_for() -> None:
    assert earlier_wave_tenants(WAVES, "TENANT_004") == []
    assert earlier_wave_tenants(WAVES, "TENANT_001") == []
    assert earlier_wave_tenants(WAVES, "TENANT_005") == ["TENANT_004"]
