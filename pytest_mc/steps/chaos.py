"""Chaos steps: run an experiment against a tenant while the tripwire watch looks on.

The experiment runs in the main thread (it handles SIGINT/SIGTERM and always rolls back);
once its first method action has injected the fault, a `TripwireWatch` starts polling the
metric source and keeps going until the rollbacks are done. The journal and the watch report
are kept as artifacts. A fault can also be sized from a tripwire's catalog threshold ("at 1.5
times its threshold"): the step computes the experiment's magnitude from the threshold and the
profile's time scale and passes it as the experiment's configuration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pytest_bdd import parsers, then, when

from pytest_mc.drivers.chaos import run_experiment
from pytest_mc.drivers.chaos_models import ChaosActivity, ChaosResult
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.lag_probe import (
    BackgroundLagProbe,
    LagObservation,
    compare_lag,
    hidden_lag,
)
from pytest_mc.drivers.tripwire_watch import (
    BudgetPeriod,
    InducedFault,
    TripwireWatch,
    WatchReport,
)
from pytest_mc.fixtures import McEvidence
from pytest_mc.metrics.evaluator import SLO_PERIOD_PLAN_SECONDS
from pytest_mc.metrics.source import MetricSource
from pytest_mc.policy.catalog import QiCatalog, QiDefinition
from pytest_mc.policy.timewindow import parse_duration
from pytest_mc.session import SESSION_KEY
from pytest_mc.steps.context import ScenarioContext, ScenarioState
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


# Where a step that restarted a tenant's error-budget period keeps the suite's count of it.
BUDGET_PERIODS = pytest.StashKey[dict[str, BudgetPeriod]]()


@dataclass(frozen=True)
class FaultSizing:
    """How an experiment's magnitude follows from a tripwire's threshold: the configuration
    key, its unit, and the magnitude at `factor` times the threshold."""

    config_key: str
    unit: str
    size: Callable[[QiDefinition, float, TargetProfile, str], float]


def _lag_delay(qi: QiDefinition, factor: float, profile: TargetProfile, _tenant: str) -> float:
    # the appliers hold each change until it is this old (wall), so the lag stands about there
    return factor * qi.target / profile.time_scale


def _budget_error_rate(
    qi: QiDefinition, factor: float, profile: TargetProfile, tenant: str
) -> float:
    # the threshold leaves (1 - target) of the budget to spend; an error rate r spends the
    # budget at r / (1 - availability) of the period's requests, so the period's share of it
    # tends to factor * (1 - target)
    allowed = 1.0 - profile.tenant(tenant).slo_baseline.availability
    return factor * (1.0 - qi.target) * allowed


def _burn_error_rate(qi: QiDefinition, factor: float, profile: TargetProfile, tenant: str) -> float:
    # a burn of `target` of the period's budget within the window is an error rate of
    # target * period / window times the allowed one (2% in 1h of 30d: 14.4x, i.e. 1.44%)
    allowed = 1.0 - profile.tenant(tenant).slo_baseline.availability
    window = qi.window_seconds or SLO_PERIOD_PLAN_SECONDS
    return min(1.0, factor * qi.target * SLO_PERIOD_PLAN_SECONDS / window * allowed)


FAULT_SIZING: dict[tuple[str, str], FaultSizing] = {
    ("replication-delay", "tripwire_replication_lag"): FaultSizing(
        "delay_seconds", "wall seconds", _lag_delay
    ),
    ("error-budget-burn", "tripwire_error_budget"): FaultSizing(
        "error_rate", "of requests", _budget_error_rate
    ),
    ("error-budget-burn", "tripwire_burn_fast"): FaultSizing(
        "error_rate", "of requests", _burn_error_rate
    ),
}


@when(
    parsers.parse(
        'the "{experiment}" experiment holds {qi_id} at {factor} times its threshold on tenant '
        "{tenant} for {duration} of plan time"
    )
)
def sized_chaos_experiment_on_tenant(
    mc_chaos_step: ChaosStepRun,
    mc_control: ControlClient,
    experiment: str,
    qi_id: str,
    factor: str,
    tenant: str,
    duration: str,
) -> None:
    sizing = FAULT_SIZING.get((experiment, qi_id))
    if sizing is None:
        known = ", ".join(f"{e!r} for {q}" for e, q in FAULT_SIZING)
        raise AssertionError(
            f"the feature sizes experiment {experiment!r} from {qi_id}, which the suite cannot "
            f"size: it knows {known}"
        )
    try:
        times = float(factor)
    except ValueError:
        raise AssertionError(f"factor {factor!r} in the feature is not a number") from None
    qi = mc_chaos_step.catalog.get(qi_id)
    magnitude = sizing.size(qi, times, mc_chaos_step.profile, tenant)
    induced = InducedFault(
        qi_id=qi.id,
        factor=times,
        threshold=qi.target,
        config_key=sizing.config_key,
        magnitude=magnitude,
        magnitude_unit=sizing.unit,
        hold_wall_seconds=parse_duration(duration) / mc_chaos_step.profile.time_scale,
    )
    if qi.id != LAG_TRIPWIRE:
        run_chaos(mc_chaos_step, experiment, tenant, duration, induced=induced)
        return
    # the suite measures the lag the fault made itself, with marker writes while it holds
    pair = mc_control.tenant_status(tenant).primary_and_peer
    if pair is None:
        raise AssertionError(f"lag probe: tenant {tenant} has no second region to read")
    source, peer = pair
    probe = BackgroundLagProbe(mc_chaos_step.profile, tenant, source=source, peer=peer)
    try:
        run_chaos(
            mc_chaos_step, experiment, tenant, duration, induced=induced, while_injected=probe.start
        )
    finally:
        mc_chaos_step.context.lag_observation = probe.stop()


LAG_TRIPWIRE = "tripwire_replication_lag"


@then(
    parsers.parse(
        "the target's lag metric showed the lag the suite's marker writes observed on tenant "
        "{tenant}"
    )
)
def lag_metric_agrees_with_markers(
    mc_evidence: McEvidence, mc_catalog: QiCatalog, mc_context: ScenarioContext, tenant: str
) -> None:
    """The target's lag metric, as the watch sampled it while the probe's markers were in
    flight, must not hide a crossing the markers proved: a proved lag past the tripwire's
    threshold that the metric kept at or below it fails (docs/verification-power.md)."""
    observation = mc_context.lag_observation
    if observation is None or observation.tenant != tenant:
        raise AssertionError(
            f"lag probe: no marker writes were taken on {tenant}; a sized replication-delay "
            f"fault step must come first"
        )
    if not observation.replicated:
        raise AssertionError(f"lag probe: no marker reached the peer: {observation.describe()}")
    qi = mc_catalog.get(LAG_TRIPWIRE)
    interval = mc_evidence.profile.metrics.sample_interval_seconds
    reported = _reported_during(mc_context.last_watch, observation, interval)
    comparison = compare_lag(
        observation,
        reported,
        metric=f"the watch's {LAG_TRIPWIRE} condition",
        tolerance_plan_seconds=0.0,
        sampling_allowance_plan_seconds=interval * mc_evidence.profile.time_scale,
    )
    payload = {
        "observation": observation.model_dump(mode="json"),
        "comparison": comparison.model_dump(mode="json"),
    }
    mc_evidence.attach(
        json.dumps(payload, indent=2, sort_keys=True).encode(),
        name=f"lag-probe-{tenant}.json",
        kind="json",
        tenant=tenant,
        media_type="application/json",
    )
    hidden = hidden_lag(observation, reported, qi.target, of=qi.id)
    assert hidden is None, hidden


def _reported_during(
    report: WatchReport, observation: LagObservation, interval_seconds: float
) -> float | None:
    """The most the target's lag metric read (plan seconds) from the probe's start until one
    sample interval after its end."""
    sighting = report.tripwires.get(LAG_TRIPWIRE)
    if sighting is None:
        return None
    start = datetime.fromtimestamp(observation.started, UTC)
    end = datetime.fromtimestamp(observation.ended + interval_seconds, UTC)
    values = [point.value for point in sighting.points if start <= point.at <= end]
    return max(values, default=None)


@dataclass(frozen=True, repr=False)
class ChaosStepRun(ScenarioState):
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
    induced: InducedFault | None = None,
) -> ChaosResult:
    """Run `experiment` on `tenant` for `duration` of plan time under the tripwire watch.

    `while_injected` runs once, right after the first method action injected the fault and
    before the hold, e.g. the operation the fault must meet. Its failure fails the step after
    the rollbacks. `induced` sizes the fault (its magnitude goes into the configuration)."""
    profile = step.profile
    hold_wall_seconds = parse_duration(duration) / profile.time_scale
    log_wait(step.evidence, f"chaos {experiment} on {tenant}", parse_duration(duration))
    watch = TripwireWatch(
        step.metrics,
        step.catalog,
        tenant,
        time_scale=profile.time_scale,
        interval_seconds=profile.metrics.sample_interval_seconds,
        availability=profile.tenant(tenant).slo_baseline.availability,
        budget_period=step.request.node.stash.get(BUDGET_PERIODS, {}).get(tenant),
        induced=induced,
    )
    configuration: dict[str, float] = {"hold_seconds": hold_wall_seconds}
    if induced is not None:
        configuration[induced.config_key] = induced.magnitude
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
            configuration=configuration,
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
