"""A broken autonomy engine fails the matching §B scenario, for the right reason, and no other.

Each case starts a reference staging with one deliberate defect (`mc-staging up --defect`),
runs features/autonomy_pilot.feature (a selection of its scenarios) against it, and checks
that exactly the scenario covering the broken behaviour fails, with a message naming its
control, KPI or tripwire, while the selection's other scenarios pass. The KPI campaign is
short here (`MC_AUTONOMY_CYCLES`), so on a correct target it is inconclusive; the defect must
turn it into a failed KPI instead.
"""

from __future__ import annotations

from typing import Any

import pytest
from defect_cases import DefectCase

pytestmark = pytest.mark.integration

FEATURE = "autonomy_pilot.feature"


CASES = [
    DefectCase(
        "enact-accepts-replayed-token",
        FEATURE,
        "approval_token",
        "test_an_enactment_with_a_token_approval_token_is_refused[TENANT_001-replayed]",
        ("autonomy §B.1 approval token: an enactment with a replayed token was not refused",),
        5,
    ),
    DefectCase(
        "compensation-noop",
        FEATURE,
        "compensation or simulate_approve_enact",
        "test_compensation_restores_the_derived_data",
        ("autonomy §B.3 compensation: the derived data of TENANT_001 is not what it was before",),
        1,
    ),
    DefectCase(
        "burn-halt-never",
        FEATURE,
        "fast or risk",
        "test_a_burn_errorbudget_burn_halts_autonomy_on_tenant[TENANT_001-fast",
        ("tripwire tripwire_burn_fast: expected halt_autonomy_read_only",),
        1,
    ),
    DefectCase(
        "enact-skips-residency-denial",
        FEATURE,
        "residency_denial or risk",
        "test_a_residency_denial_aborts_the_enactment_on_tenant",
        ("tripwire tripwire_residency_denial: expected abort_enactment",),
        1,
    ),
    DefectCase(
        "risk-check-off",
        FEATURE,
        "risk or residency_denial",
        "test_a_riskscore_anomaly_aborts_the_enactment_on_tenant",
        ("tripwire tripwire_risk_anomaly: expected abort_enactment",),
        1,
    ),
    DefectCase(
        "simulator-blind-to-drift",
        FEATURE,
        "campaign or backout_to_t2",
        "test_the_pilots_kpis_over_a_campaign",
        ("KPI sim_false_negative_rate fail over 4 cycles",),
        1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.defect for c in CASES])
def test_a_defect_fails_its_autonomy_scenario_and_only_it(
    defect_case: Any, monkeypatch: pytest.MonkeyPatch, case: DefectCase
) -> None:
    monkeypatch.setenv("MC_AUTONOMY_CYCLES", "4")
    defect_case(case)


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
