"""Exit codes that separate "the release failed" from "the suite could not judge it".

A scenario that fails on an assertion failed a gate or tripwire (exit 1). One that fails on
an `McError` did not judge anything: a `TargetError` (tool missing, target unreachable,
unsafe target) makes the run exit 3, an `InputError` (bad feature number, bad profile
value) exit 2 (DESIGN §9). The kind travels on the report, so it works under xdist too.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from pytest_mc.errors import InputError, TargetError

FAILURE_KIND = "mc_failure_kind"
# The exit code the classifier chose, for callers (mc-verify run) that must not confuse
# it with pytest's own 2 (interrupted) and 3 (internal error).
MAPPED_EXIT_KEY = pytest.StashKey[int]()


class OutcomeClassifier:
    """Tags failed reports with why they failed and maps the session's exit status."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        excinfo = call.excinfo
        if report.failed and excinfo is not None:
            if excinfo.errisinstance(TargetError):
                setattr(report, FAILURE_KIND, "target")
            elif excinfo.errisinstance(InputError):
                setattr(report, FAILURE_KIND, "input")
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        kind = getattr(report, FAILURE_KIND, None)
        if isinstance(kind, str):
            self.kinds.add(kind)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus != pytest.ExitCode.TESTS_FAILED:
            return
        code = 1
        if "target" in self.kinds:
            code = TargetError.exit_code
        elif "input" in self.kinds:
            code = InputError.exit_code
        session.exitstatus = code
        session.config.stash[MAPPED_EXIT_KEY] = code
