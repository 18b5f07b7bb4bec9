"""features/tripwire_boundaries.feature: the healthy staging passes it, and a tripwire that is
wrong only near its threshold fails exactly the boundary scenario that covers it.

The strong-fault scenarios of tripwires.feature pass against both defects here (a lag ten
times the threshold still trips a tripwire twice too loose; a pause 30m late still lands
within 15m of a gauge that is itself 30m late); only a fault sized at the threshold, with the
crossing counted by the suite, tells them apart.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from defect_cases import DefectCase, Selection

pytestmark = pytest.mark.integration

FEATURE = "tripwire_boundaries.feature"
SCENARIOS = 5
STRONG_FEATURE = "tripwires.feature"

# Each case also runs the strong-fault scenario of tripwires.feature against the same broken
# staging: it must pass, since a fault far past the threshold does not tell the defect from a
# healthy target.
CASES = [
    DefectCase(
        "tripwire-loose-threshold",
        FEATURE,
        "replication_lag",
        "test_replication_lag_just_past_60s",
        (
            "tripwire tripwire_replication_lag: expected bias_glb within 20m of the condition",
            "seconds against > 60; fault sized at 1.5x the threshold: delay_seconds=0.15",
        ),
        1,
        unaffected=(
            Selection(STRONG_FEATURE, "TENANT_004 and replication_lag_over_60s_for_10m", 1),
        ),
    ),
    DefectCase(
        "tripwire-acts-late",
        FEATURE,
        "replication_lag_clearly or budget_the_suite_counts",
        "test_the_rollout_of_tenant_004_pauses_when",
        (
            "tripwire tripwire_error_budget: expected pause_rollout within 10m of the condition",
            "crossing counted by the suite from the request counters; target's gauge then",
            "fraction against < 0.6; fault sized at 2x the threshold: error_rate=0.0008",
        ),
        1,
        unaffected=(Selection(STRONG_FEATURE, "TENANT_004 and error_budget", 1),),
    ),
    # a lag metric at 40% of the real lag keeps a 1.5x lag (90 s) at 36 s: the suite's marker
    # writes prove the crossing the metric hides; at 0.5x nothing is hidden
    DefectCase(
        "lag-metric-under-reports",
        FEATURE,
        "replication_lag",
        "test_replication_lag_just_past_60s",
        (
            "target metric disagrees with observation: the target's lag of TENANT_004 read at",
            "past the 60 s threshold of tripwire_replication_lag that the metric never showed",
        ),
        1,
        unaffected=(
            Selection(STRONG_FEATURE, "TENANT_004 and replication_lag_over_60s_for_10m", 1),
        ),
    ),
    # every change ships 90 s late and the target counts lag from arrival: a 0.5x fault (30 s)
    # is really 120 s, past the threshold, while the target shows 30 s; at 1.5x the target
    # shows 90 s itself and its tripwire acts
    DefectCase(
        "lag-counted-from-receipt",
        FEATURE,
        "replication_lag",
        "test_replication_lag_clearly_below_60s",
        (
            "target metric disagrees with observation: the target's lag of TENANT_004 read at",
            "past the 60 s threshold of tripwire_replication_lag that the metric never showed",
        ),
        1,
        unaffected=(
            Selection(STRONG_FEATURE, "TENANT_004 and replication_lag_over_60s_for_10m", 1),
        ),
    ),
]


def test_the_boundary_feature_passes_on_the_healthy_staging(
    reference_staging: Any, run_project_feature: Any
) -> None:
    run = run_project_feature(reference_staging.profile_path, FEATURE)
    assert run.returncode == 0, run.output
    assert f"{SCENARIOS} passed" in run.output, run.output
    section = run.tenant_section("TENANT_004")
    observations = {t["qi_id"]: t for t in section["tripwires"]}
    print(json.dumps(section["tripwires"], indent=1))
    # the evidence names the figures the suite saw beside the threshold
    lag = observations["tripwire_replication_lag"]
    assert "typical" in lag["condition"], lag
    assert "fault sized at 1.5x" in lag["condition"], lag
    budget = observations["tripwire_error_budget"]
    assert "counted by the suite" in budget["condition"], json.dumps(budget)


@pytest.mark.parametrize("case", CASES, ids=[c.defect for c in CASES])
def test_a_boundary_defect_fails_its_scenario_and_only_it(
    defect_case: Any, case: DefectCase
) -> None:
    run = defect_case(case)
    print(next(line for line in run.output.splitlines() if "AssertionError: " in line))
