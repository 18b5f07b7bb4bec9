"""A broken target fails the matching §A scenario, for the right reason, and nothing else.

Each case starts a reference staging with one deliberate defect (`mc-staging up --defect`),
runs one of the project's features against it for TENANT_004, and checks that exactly the
scenario that covers the broken behaviour fails, with a message naming its gate or tripwire,
while the feature's other scenarios still pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Case:
    defect: str
    feature: str
    select: str  # pytest -k expression over the feature's scenarios
    failing: str  # the scenario (test name prefix) that must fail
    message: str  # what its failure must name
    passing: int  # how many other scenarios still pass


CASES = [
    Case(
        "residency-gate-off",
        "readiness.feature",
        "TENANT_004 and (residency or query_budgets or dr_drill)",
        "test_residency_tags_are_verified",
        "gate residency: a write sent to",
        2,
    ),
    Case(
        "ttl-flag-ignored",
        "backout.feature",
        "TENANT_004 and (ttl or persistedonly)",
        "test_with_ttl_autotune_disabled",
        "cache TTL",
        1,
    ),
    Case(
        "glb-never-biases",
        "tripwires.feature",
        "TENANT_004 and (replication_lag or conflict)",
        "test_replication_lag_over_60s_for_10m_biases",
        "tripwire tripwire_replication_lag: expected bias_glb",
        2,
    ),
    Case(
        "never-pauses",
        "tripwires.feature",
        "TENANT_004 and (error_budget or nonpersisted)",
        "test_error_budget_below_60_pauses",
        "tripwire tripwire_error_budget: expected pause_rollout",
        1,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.defect for c in CASES])
def test_a_defect_fails_its_scenario_and_only_it(
    staging_with_defect: Any, run_project_feature: Any, case: Case
) -> None:
    with staging_with_defect(case.defect) as staging:
        health = httpx.get(f"{staging.profile.admin.url}/healthz", timeout=5).json()
        assert health["defects"] == [case.defect]
        run = run_project_feature(staging.profile_path, case.feature, "-k", case.select)
    assert run.returncode == 1, run.output
    failed = [line for line in run.output.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1, run.output
    assert f"::{case.failing}" in failed[0], failed[0]
    assert case.message in run.output, run.output
    assert f"1 failed, {case.passing} passed" in run.output, run.output
