"""Chaos steps: run an experiment against a tenant while the tripwire watch looks on.

The experiment runs in the main thread (it handles SIGINT/SIGTERM and always rolls back);
once its first method action has injected the fault, a `TripwireWatch` starts polling the
metric source and keeps going until the rollbacks are done. The journal and the watch report
are kept as artifacts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from pytest_bdd import parsers, then, when

from pytest_mc.drivers.chaos import run_experiment
from pytest_mc.drivers.chaos_models import ChaosActivity, ChaosResult
from pytest_mc.drivers.tripwire_watch import TripwireWatch
from pytest_mc.fixtures import McEvidence
from pytest_mc.metrics.source import MetricSource
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.timewindow import parse_duration
from pytest_mc.session import SESSION_KEY
from pytest_mc.steps.context import ScenarioContext
from pytest_mc.steps.pacing import log_wait
from pytest_mc.target.profile import TargetProfile


@when(
    parsers.parse(
        'the "{experiment}" experiment runs on tenant {tenant} for {duration} of plan time'
    )
)
def chaos_experiment_on_tenant(
    mc_chaos_step: ChaosStepRun, experiment: str, tenant: str, duration: str
) -> None:
    run_chaos(mc_chaos_step, experiment, tenant, duration)


@dataclass(frozen=True)
class ChaosStepRun:
    """The fixtures a chaos step runs an experiment with."""

    request: pytest.FixtureRequest
    profile: TargetProfile
    catalog: QiCatalog
    metrics: MetricSource
    evidence: McEvidence
    context: ScenarioContext
    tmp_path_factory: pytest.TempPathFactory


@pytest.fixture
def mc_chaos_step(
    request: pytest.FixtureRequest,
    mc_profile: TargetProfile,
    mc_catalog: QiCatalog,
    mc_metrics: MetricSource,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
) -> ChaosStepRun:
    """What a step needs to run a chaos experiment (`run_chaos`)."""
    return ChaosStepRun(
        request, mc_profile, mc_catalog, mc_metrics, mc_evidence, mc_context, tmp_path_factory
    )


def run_chaos(
    step: ChaosStepRun,
    experiment: str,
    tenant: str,
    duration: str,
    *,
    region: str | None = None,
    while_injected: Callable[[], None] | None = None,
) -> ChaosResult:
    """Run `experiment` on `tenant` for `duration` of plan time under the tripwire watch.

    `while_injected` runs once, right after the first method action injected the fault and
    before the hold, e.g. the operation the fault must meet. Its failure fails the step after
    the rollbacks."""
    profile = step.profile
    hold_wall_seconds = parse_duration(duration) / profile.time_scale
    log_wait(step.evidence, f"chaos {experiment} on {tenant}", parse_duration(duration))
    watch = TripwireWatch(
        step.metrics,
        step.catalog,
        tenant,
        time_scale=profile.time_scale,
        interval_seconds=profile.metrics.sample_interval_seconds,
    )
    watching: list[TripwireWatch] = []

    def on_activity(activity: ChaosActivity) -> None:
        if not watching and activity.phase == "method" and activity.activity_type == "action":
            watching.append(watch.start())
            if while_injected is not None and activity.status == "succeeded":
                while_injected()

    journal = step.tmp_path_factory.mktemp("chaos") / f"{experiment}-journal.json"
    try:
        result = run_experiment(
            profile,
            experiment,
            journal_path=journal,
            tenant=tenant,
            region=region,
            configuration={"hold_seconds": hold_wall_seconds},
            on_activity=on_activity,
            redactor=step.request.config.stash[SESSION_KEY].redactor,
        )
    finally:
        if watching:
            step.context.watch = watching[0].stop()
            report = step.context.watch.model_dump_json(indent=2).encode()
            step.evidence.attach(report, name=f"tripwire-watch-{experiment}.json", kind="json")
        if journal.exists():
            step.evidence.attach(
                journal, name=f"chaos-journal-{experiment}.json", kind="chaos-journal"
            )
    step.context.chaos_results.append(result)
    return result


@then("the experiment rolled back and the steady state returned")
def experiment_rolled_back(mc_context: ScenarioContext) -> None:
    result = mc_context.last_chaos
    assert result.rolled_back, f"chaos experiment {result.experiment_title!r}: rollbacks failed"
    assert result.steady_state_restored, (
        f"chaos experiment {result.experiment_title!r}: steady state did not return after "
        f"the rollbacks"
    )


@then("the experiment deviated from the steady state")
def experiment_deviated(mc_context: ScenarioContext) -> None:
    result = mc_context.last_chaos
    assert result.deviated, (
        f"chaos experiment {result.experiment_title!r} did not deviate: the fault had no "
        f"visible effect on the steady state"
    )
