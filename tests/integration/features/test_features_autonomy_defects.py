"""A broken autonomy engine fails the matching §B scenario, for the right reason, and no other.

Each case starts a reference staging with one deliberate defect (`mc-staging up --defect`),
runs features/autonomy_pilot.feature (a selection of its scenarios) against it, and checks
that exactly the scenario covering the broken behaviour fails, with a message naming its
control, KPI or tripwire, while the selection's other scenarios pass. The KPI campaign is
short here (`MC_AUTONOMY_CYCLES`), so on a correct target it is inconclusive; the defect must
turn it into a failed KPI instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

FEATURE = "autonomy_pilot.feature"


@dataclass(frozen=True)
class Case:
    defect: str
    select: str  # pytest -k expression over the feature's scenarios
    failing: str  # the scenario (test name prefix) that must fail
    message: str  # what its failure must name
    passing: int  # how many other scenarios still pass


CASES = [
    Case(
        "enact-accepts-replayed-token",
        "approval_token",
        "test_an_enactment_with_a_token_approval_token_is_refused[TENANT_001-replayed]",
        "autonomy §B.1 approval token: an enactment with a replayed token was not refused",
        5,
    ),
    Case(
        "compensation-noop",
        "compensation or simulate_approve_enact",
        "test_compensation_restores_the_derived_data",
        "autonomy §B.3 compensation: the derived data of TENANT_001 is not what it was before",
        1,
    ),
    Case(
        "burn-halt-never",
        "fast or risk",
        "test_a_burn_errorbudget_burn_halts_autonomy_on_tenant[TENANT_001-fast",
        "tripwire tripwire_burn_fast: expected halt_autonomy_read_only",
        1,
    ),
    Case(
        "enact-skips-residency-denial",
        "residency_denial or risk",
        "test_a_residency_denial_aborts_the_enactment_on_tenant",
        "tripwire tripwire_residency_denial: expected abort_enactment",
        1,
    ),
    Case(
        "risk-check-off",
        "risk or residency_denial",
        "test_a_riskscore_anomaly_aborts_the_enactment_on_tenant",
        "tripwire tripwire_risk_anomaly: expected abort_enactment",
        1,
    ),
    Case(
        "simulator-blind-to-drift",
        "campaign or backout_to_t2",
        "test_the_pilots_kpis_over_a_campaign",
        "KPI sim_false_negative_rate fail over 4 cycles",
        1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.defect for c in CASES])
def test_a_defect_fails_its_autonomy_scenario_and_only_it(
    staging_with_defect: Any,
    run_project_feature: Any,
    monkeypatch: pytest.MonkeyPatch,
    case: Case,
) -> None:
    monkeypatch.setenv("MC_AUTONOMY_CYCLES", "4")
    with staging_with_defect(case.defect) as staging:
        health = httpx.get(f"{staging.profile.admin.url}/healthz", timeout=5).json()
        assert health["defects"] == [case.defect]
        run = run_project_feature(staging.profile_path, FEATURE, "-k", case.select)
    assert run.returncode == 1, run.output
    failed = [line for line in run.output.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1, run.output
    assert f"::{case.failing}" in failed[0], failed[0]
    assert case.message in run.output, run.output
    assert f"1 failed, {case.passing} passed" in run.output, run.output


def test_the_short_campaign_on_a_correct_target_is_inconclusive_not_failed(
    reference_staging: Any, run_project_feature: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the simulator-blind-to-drift case: same selection, correct target."""
    monkeypatch.setenv("MC_AUTONOMY_CYCLES", "4")
    run = run_project_feature(
        reference_staging.profile_path, FEATURE, "-k", "campaign or backout_to_t2"
    )
    assert "1 failed, 1 passed" in run.output, run.output
    assert "KPI sim_false_negative_rate inconclusive over 4 cycles" in run.output, run.output
