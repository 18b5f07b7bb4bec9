"""`--mc-plan SECTIONS` keeps the scenarios of those plan sections (from their @plan: tags)."""

from __future__ import annotations

import pytest
from plugin_helpers import STEPS, RunSuite

SECTIONS_FEATURE = """\
@plan:B.4
Feature: A feature of another section
  @tenant:TENANT_004
  Scenario: Burn-rate halt
    Given no P1 incident for TENANT_004
"""


@pytest.fixture
def two_sections(project: pytest.Pytester) -> pytest.Pytester:
    project.makefile(".feature", other=SECTIONS_FEATURE)
    project.makepyfile(test_lag=STEPS + '\nscenarios("other.feature")\n')
    return project


@pytest.mark.parametrize(
    ("sections", "passed", "deselected"),
    [("A", 3, 1), ("A.2", 3, 1), ("B", 1, 3), ("A.2, B.4", 4, 0), ("A.3", 0, 4)],
)
def test_only_the_chosen_sections_run(
    two_sections: pytest.Pytester,
    run_suite: RunSuite,
    sections: str,
    passed: int,
    deselected: int,
) -> None:
    result = run_suite("--mc-plan", sections)
    result.assert_outcomes(passed=passed, deselected=deselected)
