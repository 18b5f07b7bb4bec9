"""A broken target fails the matching §A scenario, for the right reason, and nothing else.

Each case starts a reference staging with one deliberate defect (`mc-staging up --defect`),
runs one of the project's features against it for TENANT_004, and checks that exactly the
scenario that covers the broken behaviour fails, with a message naming its gate or tripwire,
while the feature's other scenarios still pass (the `defect_case` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
from defect_cases import DefectCase

pytestmark = pytest.mark.integration


CASES = [
    DefectCase(
        "residency-gate-off",
        "readiness.feature",
        "TENANT_004 and (residency or query_budgets or dr_drill)",
        "test_residency_tags_are_verified",
        ("gate residency: a write sent to",),
        2,
    ),
    DefectCase(
        "ttl-flag-ignored",
        "backout.feature",
        "TENANT_004 and (ttl or persistedonly)",
        "test_with_ttl_autotune_disabled",
        ("cache TTL",),
        1,
    ),
    DefectCase(
        "glb-never-biases",
        "tripwires.feature",
        "TENANT_004 and (replication_lag or conflict)",
        "test_replication_lag_over_60s_for_10m_biases",
        ("tripwire tripwire_replication_lag: expected bias_glb",),
        2,
    ),
    DefectCase(
        "never-pauses",
        "tripwires.feature",
        "TENANT_004 and (error_budget or nonpersisted)",
        "test_error_budget_below_60_pauses",
        ("tripwire tripwire_error_budget: expected pause_rollout",),
        1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.defect for c in CASES])
def test_a_defect_fails_its_scenario_and_only_it(defect_case: Any, case: DefectCase) -> None:
    defect_case(case)
