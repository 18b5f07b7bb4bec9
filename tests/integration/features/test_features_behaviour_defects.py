"""A staging whose status lies about its behaviour fails the scenario that observes the behaviour.

Each case starts a reference staging with one deliberate defect (`mc-staging up --defect`)
whose registry, status and metrics say what a correct staging would, while the data plane
does otherwise. It runs a selection of one feature for TENANT_004 and checks that exactly the
scenario whose data-plane observation the defect breaks fails, with a message naming what was
observed, while the selection's other scenarios pass.
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
        "ap-rollback-status-only",
        "tripwires.feature",
        "TENANT_004 and (conflict or error_budget)",
        "test_conflict_rate_over_01_rolls",
        "behaviour A/P: the target says TENANT_004 is active/passive with primary",
        1,
    ),
    Case(
        "glb-weights-status-only",
        "backout.feature",
        "TENANT_004 and (glb_bias or ttl)",
        "test_a_glb_bias_sends_all",
        "requests of TENANT_004 did not land in",
        1,
    ),
    # the lag tripwire's bias is published (its action is observed) but not routed: only the
    # split counted from the answers sees it
    Case(
        "glb-weights-status-only",
        "tripwires.feature",
        "TENANT_004 and replication_lag",
        "test_replication_lag_over_60s_for_10m_biases",
        "behaviour GLB split: the target reports a GLB bias of TENANT_004 to",
        1,
    ),
]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.defect}-{c.feature.removesuffix('.feature')}" for c in CASES]
)
def test_a_status_that_lies_fails_its_behaviour_scenario_and_only_it(
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
