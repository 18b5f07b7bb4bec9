"""A staging whose status lies about its behaviour fails the scenario that observes the behaviour.

Each case starts a reference staging with one deliberate defect (`mc-staging up --defect`)
whose registry, status and metrics say what a correct staging would, while the data plane
does otherwise. It runs a selection of one feature and checks that exactly the scenario whose
data-plane observation the defect breaks fails, with a message naming what was observed,
while the selection's other scenarios pass (the `defect_case` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from defect_cases import DefectCase

pytestmark = pytest.mark.integration


CASES = [
    DefectCase(
        "ap-rollback-status-only",
        "tripwires.feature",
        "TENANT_004 and (conflict or error_budget)",
        "test_conflict_rate_over_01_rolls",
        ("behaviour A/P: the target says TENANT_004 is active/passive with primary",),
        1,
    ),
    DefectCase(
        "glb-weights-status-only",
        "backout.feature",
        "TENANT_004 and (glb_bias or ttl)",
        "test_a_glb_bias_sends_all",
        ("requests of TENANT_004 did not land in",),
        1,
    ),
    # the lag tripwire's bias is published (its action is observed) but not routed: only the
    # split counted from the answers sees it
    DefectCase(
        "glb-weights-status-only",
        "tripwires.feature",
        "TENANT_004 and replication_lag",
        "test_replication_lag_over_60s_for_10m_biases",
        ("behaviour GLB split: the target reports a GLB bias of TENANT_004 to",),
        1,
    ),
    # the lag tripwire rolls back to A/P where the plan says bias, recorded as a bias: its
    # weight of 100 on the primary is what a bias to the primary shows, the tenant's mode is
    # not; the strong-fault scenario and the one just past the threshold both catch it
    DefectCase(
        "lag-tripwire-rolls-back",
        "tripwires.feature",
        "TENANT_004 and replication_lag",
        "test_replication_lag_over_60s_for_10m_biases",
        ("a rollback to A/P seen at", "the weights of a rollback, not a bias"),
        1,
    ),
    DefectCase(
        "lag-tripwire-rolls-back",
        "tripwire_boundaries.feature",
        "replication_lag",
        "test_replication_lag_just_past_60s",
        ("a rollback to A/P seen at", "the weights of a rollback, not a bias"),
        1,
    ),
    # the pilot's status says T2 (enactments disabled) and the approved enactment is refused
    # and audited as refused; the derived rows read back through the data plane changed
    DefectCase(
        "t2-still-enacts",
        "autonomy_pilot.feature",
        "backout_to_t2 or simulate_approve_enact",
        "test_backout_to_t2_disables_enactments_and_keeps_the_simulator[TENANT_001]",
        ("autonomy: a refused enactment changed the derived data of TENANT_001: [",),
        1,
    ),
]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.defect}-{c.feature.removesuffix('.feature')}" for c in CASES]
)
def test_a_status_that_lies_fails_its_behaviour_scenario_and_only_it(
    defect_case: Any, case: DefectCase
) -> None:
    defect_case(case)


def test_the_same_selections_pass_on_a_correct_target(
    reference_staging: Any, selection_passes: Any
) -> None:
    """The control: every selection above passes in full on the healthy reference staging."""
    for selection in dict.fromkeys(case.selection for case in CASES):
        selection_passes(reference_staging.profile_path, selection)
