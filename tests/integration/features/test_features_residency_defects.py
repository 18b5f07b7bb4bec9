"""Data that moves by a path the scenario does not exercise fails the scenario that scans for it.

With `replication-leaks-outside` a region outside a tenant's jurisdiction replicates the
tenant's changes: its database holds the rows while its reads answer 451 and its violation
counter stays 0, so only the holdings scan a lag-gate window after the writes sees it. The
selection's other scenario passes; the control runs the same selection on the healthy staging.
"""

from __future__ import annotations

from typing import Any

import pytest
from defect_cases import DefectCase

pytestmark = pytest.mark.integration


CASES = [
    DefectCase(
        "replication-leaks-outside",
        "readiness.feature",
        "TENANT_004 and (residency or query_budgets)",
        "test_residency_tags_are_verified",
        (
            "gate privacy_violations, a lag-gate window (60s plan) after the suite's marker "
            "reached",
            "us-east (jurisdiction us) holds",
            "rows of TENANT_004 (",
        ),
        1,
    ),
]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.defect}-{c.feature.removesuffix('.feature')}" for c in CASES]
)
def test_a_leaking_path_fails_its_residency_scenario_and_only_it(
    defect_case: Any, case: DefectCase
) -> None:
    defect_case(case)


def test_the_same_selections_pass_on_a_correct_target(
    reference_staging: Any, selection_passes: Any
) -> None:
    """The control: every selection above passes in full on the healthy reference staging."""
    for selection in dict.fromkeys(case.selection for case in CASES):
        selection_passes(reference_staging.profile_path, selection)
