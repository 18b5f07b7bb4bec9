"""Exit codes separate a failed release (1) from a suite that could not judge it (2, 3)."""

from __future__ import annotations

import pytest
from plugin_helpers import PROFILE

STEPS = """\
from pytest_bdd import given, scenarios, then

from pytest_mc.errors import ToolMissingError
from pytest_mc.policy.crosscheck import check_stated

scenarios("outcome.feature")


@given("a scenario")
def _scenario():
    pass


@then("a gate fails")
def _gate():
    raise AssertionError("gate replication_lag: 75s misses <= 1m")


@then("the feature states a number the catalog does not")
def _mismatch(mc_catalog):
    check_stated(mc_catalog.get("conflict_rate"), "0.1%")


@then("a tool is missing")
def _missing():
    raise ToolMissingError("k6 not found: 'k6'; install it or configure its path in the profile")
"""


def feature(*thens: str) -> str:
    scenarios = "".join(
        f"  Scenario: case {index}\n    Given a scenario\n    Then {then}\n\n"
        for index, then in enumerate(thens)
    )
    return f"Feature: Outcomes\n\n{scenarios}"


@pytest.mark.parametrize(
    ("thens", "expected"),
    [
        (("a gate fails",), 1),
        (("a gate fails", "the feature states a number the catalog does not"), 2),
        (
            (
                "a gate fails",
                "the feature states a number the catalog does not",
                "a tool is missing",
            ),
            3,
        ),
    ],
    ids=["gate failure is 1", "bad feature input is 2", "missing tool is 3"],
)
def test_failures_map_onto_the_design_exit_codes(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    thens: tuple[str, ...],
    expected: int,
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "true")
    pytester.makefile(".yaml", profile=PROFILE)
    pytester.makefile(".feature", outcome=feature(*thens))
    pytester.makepyfile(test_outcome=STEPS)
    result = pytester.runpytest_subprocess(
        "-p", "mc", "--mc-target", "profile.yaml", "--mc-out", "dist"
    )
    assert result.ret == expected, result.stdout.str()
    bundle = (pytester.path / "dist" / "evidence-v0.3.1-mc.json").read_text()
    assert f'"exit_status": {expected}' in bundle
