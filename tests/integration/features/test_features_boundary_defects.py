"""features/tripwire_boundaries.feature: the healthy staging passes it, and a tripwire that is
wrong only near its threshold fails exactly the boundary scenario that covers it.

The strong-fault scenarios of tripwires.feature pass against both defects here (a lag ten
times the threshold still trips a tripwire twice too loose; a pause 30m late still lands
within 15m of a gauge that is itself 30m late); only a fault sized at the threshold, with the
crossing counted by the suite, tells them apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

FEATURE = "tripwire_boundaries.feature"
SCENARIOS = 5


@dataclass(frozen=True)
class Case:
    defect: str
    select: str  # pytest -k expression over the feature's scenarios
    failing: str  # the scenario (test name prefix) that must fail
    messages: tuple[str, ...]  # what its failure must name
    passing: int  # how many other scenarios still pass
    strong: str  # -k over tripwires.feature: its strong-fault scenario, which still passes


CASES = [
    Case(
        "tripwire-loose-threshold",
        "replication_lag",
        "test_replication_lag_just_past_60s",
        (
            "tripwire tripwire_replication_lag: expected bias_glb within 20m of the condition",
            "seconds against > 60; fault sized at 1.5x the threshold: delay_seconds=0.15",
        ),
        1,
        "TENANT_004 and replication_lag_over_60s_for_10m",
    ),
    Case(
        "tripwire-acts-late",
        "replication_lag_clearly or budget_the_suite_counts",
        "test_the_rollout_of_tenant_004_pauses_when",
        (
            "tripwire tripwire_error_budget: expected pause_rollout within 10m of the condition",
            "crossing counted by the suite from the request counters; target's gauge then",
            "fraction against < 0.6; fault sized at 2x the threshold: error_rate=0.0008",
        ),
        1,
        "TENANT_004 and error_budget",
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
    staging_with_defect: Any, run_project_feature: Any, case: Case
) -> None:
    with staging_with_defect(case.defect) as staging:
        health = httpx.get(f"{staging.profile.admin.url}/healthz", timeout=5).json()
        assert health["defects"] == [case.defect]
        run = run_project_feature(staging.profile_path, FEATURE, "-k", case.select)
        strong = run_project_feature(staging.profile_path, "tripwires.feature", "-k", case.strong)
    # a fault far past the threshold does not tell this defect from a healthy target
    assert strong.returncode == 0, strong.output
    assert "1 passed" in strong.output, strong.output
    assert run.returncode == 1, run.output
    failed = [line for line in run.output.splitlines() if line.startswith("FAILED ")]
    assert len(failed) == 1, run.output
    assert f"::{case.failing}" in failed[0], failed[0]
    for message in case.messages:
        assert message in run.output, (message, run.output)
    assert f"1 failed, {case.passing} passed" in run.output, run.output
    print(next(line for line in run.output.splitlines() if "AssertionError: tripwire" in line))
