"""Helpers for the plugin tests: a pytester project with a target profile, a small feature,
its steps (using `mc_evidence`) and a conftest that logs every pytest-mc hook call.

`pytester` itself is requested in tests/conftest.py (pytest_plugins must be top-level).
Runs go through `runpytest_subprocess` with PYTEST_DISABLE_PLUGIN_AUTOLOAD=true and
`-p mc` (the entry-point name: with autoload on, `-p pytest_mc.plugin` would register the
module a second time under another name and pytest refuses that).
"""

from __future__ import annotations

import pytest
from plugin_helpers import FEATURE, HOOK_LOGGER, PROFILE, STEPS, RunSuite

from pytest_mc.evidence.signing import TRUST_ENV


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester directory holding the profile, the feature, its steps and the hook logger."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "true")
    monkeypatch.delenv(TRUST_ENV, raising=False)
    pytester.makefile(".yaml", profile=PROFILE)
    pytester.makefile(".feature", lag=FEATURE)
    pytester.makepyfile(test_lag=STEPS)
    pytester.makeconftest(HOOK_LOGGER)
    return pytester


@pytest.fixture
def run_suite(project: pytest.Pytester) -> RunSuite:
    """`pytest -p mc --mc-target profile.yaml --mc-out dist ARGS...` in a subprocess."""

    def run(*args: str, target: str = "profile.yaml", mc: bool = True) -> pytest.RunResult:
        options = ["--mc-target", target, "--mc-out", "dist"] if mc else []
        return project.runpytest_subprocess("-p", "mc", "-p", "no:cacheprovider", *options, *args)

    return run
