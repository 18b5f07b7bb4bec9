"""A target whose own records are incomplete or rewritten, or whose replay applies an op twice,
fails the scenario that checks that record independently, for the right reason, and no other.

Each case starts a reference staging with one deliberate defect (`mc-staging up --defect`),
runs a selection of one feature's scenarios against it and checks that exactly the scenario
covering the broken record fails, with a message naming the observation, while the
selection's other scenarios pass (the `defect_case` fixture):

- aborted-enactment-unaudited: the suite's ledger of enactments against the audit log (§B);
- replay-path-applies-twice: a replay at a region's own URL, judged by data content (§A.4);
- provenance-rewritten: the provenance log before a backout as a byte prefix of it after (§A.4).
"""

from __future__ import annotations

from typing import Any

import pytest
from defect_cases import DefectCase

pytestmark = pytest.mark.integration


CASES = [
    DefectCase(
        "aborted-enactment-unaudited",
        "autonomy_pilot.feature",
        "risk or simulate_approve_enact",
        "test_a_riskscore_anomaly_aborts_the_enactment_on_tenant",
        ("have no single matching audit record in the target's log: enactment op suite-enact-",),
        1,
    ),
    DefectCase(
        "replay-path-applies-twice",
        "backout.feature",
        "idempotent",
        "test_idempotent_ops_are_replayed_and_replaying_again_changes_nothing[TENANT_002]",
        (
            "gate backout: replaying TENANT_002's acknowledged writes with their op ids applied "
            "them again",
        ),
        2,
    ),
    DefectCase(
        "provenance-rewritten",
        "backout.feature",
        "TENANT_004 and (provenance or single_region or idempotent)",
        "test_provenance_logs_are_preserved_through_the_backout[TENANT_004]",
        (
            "gate backout: the provenance log of TENANT_004 read before the backout is not a "
            "byte-identical prefix of the log after it: entry ",
        ),
        2,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.defect for c in CASES])
def test_a_records_defect_fails_its_scenario_and_only_it(
    defect_case: Any, case: DefectCase
) -> None:
    defect_case(case)


def test_the_same_selections_pass_on_a_correct_target(
    reference_staging: Any, selection_passes: Any
) -> None:
    """The control: every selection above passes in full on the healthy reference staging."""
    for case in CASES:
        selection_passes(reference_staging.profile_path, case.selection)
