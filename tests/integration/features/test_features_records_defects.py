"""A target whose own records are incomplete or rewritten, or whose replay applies an op twice,
fails the scenario that checks that record independently, for the right reason, and no other.

Each case starts a reference staging with one deliberate defect (`mc-staging up --defect`),
runs a selection of one feature's scenarios against it and checks that exactly the scenario
covering the broken record fails, with a message naming the observation, while the
selection's other scenarios pass:

- aborted-enactment-unaudited: the suite's ledger of enactments against the audit log (§B);
- replay-path-applies-twice: a replay at a region's own URL, judged by data content (§A.4);
- provenance-rewritten: the provenance log before a backout as a byte prefix of it after (§A.4).
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
        "aborted-enactment-unaudited",
        "autonomy_pilot.feature",
        "risk or simulate_approve_enact",
        "test_a_riskscore_anomaly_aborts_the_enactment_on_tenant",
        "have no single matching audit record in the target's log: enactment op suite-enact-",
        1,
    ),
    Case(
        "replay-path-applies-twice",
        "backout.feature",
        "idempotent",
        "test_idempotent_ops_are_replayed_and_replaying_again_changes_nothing[TENANT_002]",
        "gate backout: replaying TENANT_002's acknowledged writes with their op ids applied "
        "them again",
        2,
    ),
    Case(
        "provenance-rewritten",
        "backout.feature",
        "TENANT_004 and (provenance or single_region or idempotent)",
        "test_provenance_logs_are_preserved_through_the_backout[TENANT_004]",
        "gate backout: the provenance log of TENANT_004 read before the backout is not a "
        "byte-identical prefix of the log after it: entry ",
        2,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.defect for c in CASES])
def test_a_records_defect_fails_its_scenario_and_only_it(
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


def test_the_same_selections_pass_on_a_correct_target(
    reference_staging: Any, run_project_feature: Any
) -> None:
    """The control: every selection above passes in full on the healthy reference staging."""
    for case in CASES:
        run = run_project_feature(reference_staging.profile_path, case.feature, "-k", case.select)
        assert run.returncode == 0, run.output
        assert f"{case.passing + 1} passed" in run.output, run.output
