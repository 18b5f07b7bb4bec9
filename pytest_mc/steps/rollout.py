"""Rollout steps (plan §A.2): hold a stage under load, judge the gates, promote, wave order.

A stage is held for its plan duration (checked against the catalog's `stage_*` QI) with k6
traffic flowing and, optionally, a chaos experiment; the validation gates are then judged
over that window from the target's metrics. Promotion asks the target to advance without
`--force`, and only after the gates of the stage passed: a failed gate stops promotion.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from pytest_bdd import given, parsers, then, when

from pytest_mc.dod.wave_order import wave_blockers
from pytest_mc.drivers.chaos import run_experiment
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.control_models import STAGE_ORDER
from pytest_mc.drivers.gates import GateReading, GateWindow
from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_models import UNIQUE_KEYS, K6Load
from pytest_mc.drivers.lag_probe import ROUND_EVERY_WALL_SECONDS, BackgroundLagProbe, hidden_lag
from pytest_mc.evidence.chain import read_chain, verify_chain
from pytest_mc.fixtures import McEvidence
from pytest_mc.metrics.evaluator import WindowEvaluator
from pytest_mc.metrics.source import MetricSource
from pytest_mc.policy.crosscheck import StatedNumberMismatch, check_stated
from pytest_mc.policy.traffic_split import SPLIT_CONFIDENCE, SPLIT_SAMPLE_REQUESTS, judge_split
from pytest_mc.policy.verdict import Judgement, Ratio, Verdict
from pytest_mc.session import SESSION_KEY
from pytest_mc.steps.context import ScenarioContext
from pytest_mc.steps.load import BackgroundLoad, record_k6_run
from pytest_mc.steps.pacing import LAG_GATE_QI, log_wait
from pytest_mc.steps.residency import scan_and_record
from pytest_mc.target.profile import TargetProfile

STAGE_QI = {
    "bake": "stage_bake",
    "canary-20": "stage_canary_20",
    "canary-50": "stage_canary_50",
    "ga": "stage_ga_soak",
}
HOLD_VUS = 4
# Mostly writes: the conflict gate is judged on writes.
HOLD_WRITE_SHARE = 0.8


@given(parsers.parse('tenant {tenant} is at stage "{stage}" of its rollout'))
def tenant_at_stage(mc_control: ControlClient, tenant: str, stage: str) -> None:
    status = mc_control.tenant_status(tenant)
    assert status.rollout.stage == stage, (
        f"tenant {tenant} is at stage {status.rollout.stage!r}, the scenario starts at {stage!r}"
    )


@given(parsers.parse('tenant {tenant} is put at stage "{stage}" for this scenario'))
def tenant_put_at_stage(
    request: pytest.FixtureRequest, mc_control: ControlClient, tenant: str, stage: str
) -> None:
    """Arrange a stage with operator overrides, and put the tenant back afterwards."""
    before = mc_control.tenant_status(tenant).rollout.stage
    arrange_stage(mc_control, tenant, stage)
    request.addfinalizer(lambda: arrange_stage(mc_control, tenant, before))


def arrange_stage(control: ControlClient, tenant: str, stage: str) -> None:
    """Drive the target to `stage` with `--force` (setup only, never a verdict)."""
    control.call("slo", "reset-budget", "--tenant", tenant)
    status = control.tenant_status(tenant)
    if status.rollout.paused:
        control.call("rollout", "resume", "--tenant", tenant, "--force")
    if status.glb.bias:
        control.call("glb", "unbias", "--tenant", tenant)
    current = control.tenant_status(tenant).rollout.stage
    if current == stage:
        return
    if stage == "staged":
        # No transition leads back to "staged"; A/P at "rolled-back" serves the tenant the
        # same way (one region, no replication), so that is where it is put back.
        if current != "rolled-back":
            control.call("rollout", "rollback", "--tenant", tenant, "--reason", "scenario setup")
        return
    if stage == "rolled-back" or (
        current in STAGE_ORDER and STAGE_ORDER.index(current) > STAGE_ORDER.index(stage)
    ):
        control.call("rollout", "rollback", "--tenant", tenant, "--reason", "scenario setup")
        current = "rolled-back"
    for _ in range(len(STAGE_ORDER) + 1):
        if current == stage:
            return
        current = control.tenant_status(tenant).rollout.stage
        if current == stage:
            return
        control.call("rollout", "advance", "--tenant", tenant, "--force")
    raise AssertionError(f"could not arrange tenant {tenant} at stage {stage!r}")


@when(parsers.parse("the operator clears any GLB bias of tenant {tenant} left by the drill"))
def clear_bias(
    mc_control: ControlClient, mc_evidence: McEvidence, mc_profile: TargetProfile, tenant: str
) -> None:
    """A region loss sustains replication lag, so the lag tripwire biases the GLB of every
    tenant served by the lost region, not only the drilled one; the runbook clears those
    biases once both regions are back, before the rollout goes on."""
    drilled = set(mc_profile.tenant(tenant).regions)
    sharing = [t.id for t in mc_profile.tenants if t.id == tenant or drilled & set(t.regions)]
    for affected in sharing:
        status = mc_control.tenant_status(affected)
        if not status.glb.bias:
            continue
        mc_evidence.attach(
            status.model_dump_json(indent=2).encode(),
            name=f"glb-bias-after-drill-{affected}.json",
            kind="json",
            tenant=affected,
        )
        mc_control.call("glb", "unbias", "--tenant", affected)
        status = mc_control.tenant_status(affected)
        assert not status.glb.bias, (
            f"gate GLB bias of {affected} could not be cleared after the drill: {status.glb}"
        )


@when(parsers.parse('tenant {tenant} is promoted to stage "{stage}"'))
def promote(
    mc_control: ControlClient, mc_context: ScenarioContext, tenant: str, stage: str
) -> None:
    current = mc_control.tenant_status(tenant).rollout.stage
    if current != "staged":
        passed = mc_context.gates_passed.get((tenant, current))
        assert passed, (
            f"gate validation of {tenant} in stage {current!r} "
            f"{'failed' if passed is False else 'was not judged'}: promotion to {stage!r} stops"
        )
    result = mc_control.attempt("rollout", "advance", "--tenant", tenant)
    assert not result.refused, f"gate promotion of {tenant} to {stage!r} refused: {result.message}"
    reached = mc_control.tenant_status(tenant).rollout.stage
    assert reached == stage, f"promotion of {tenant} reached {reached!r}, expected {stage!r}"


@when(
    parsers.parse('tenant {tenant} holds stage "{stage}" for {duration} of plan time under k6 load')
)
def hold_stage(
    request: pytest.FixtureRequest,
    mc_control: ControlClient,
    mc_profile: TargetProfile,
    mc_k6: K6Driver,
    mc_metrics: MetricSource,
    mc_evaluator: WindowEvaluator,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: str,
    stage: str,
    duration: str,
) -> None:
    _hold(
        request,
        mc_control,
        mc_profile,
        mc_k6,
        mc_metrics,
        mc_evaluator,
        mc_evidence,
        mc_context,
        tmp_path_factory,
        tenant,
        stage,
        duration,
        experiment=None,
    )


@when(
    parsers.parse(
        'tenant {tenant} holds stage "{stage}" for {duration} of plan time under k6 load '
        'and the "{experiment}" experiment'
    )
)
def hold_stage_with_chaos(
    request: pytest.FixtureRequest,
    mc_control: ControlClient,
    mc_profile: TargetProfile,
    mc_k6: K6Driver,
    mc_metrics: MetricSource,
    mc_evaluator: WindowEvaluator,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: str,
    stage: str,
    duration: str,
    experiment: str,
) -> None:
    _hold(
        request,
        mc_control,
        mc_profile,
        mc_k6,
        mc_metrics,
        mc_evaluator,
        mc_evidence,
        mc_context,
        tmp_path_factory,
        tenant,
        stage,
        duration,
        experiment=experiment,
    )


def _hold(
    request: pytest.FixtureRequest,
    control: ControlClient,
    profile: TargetProfile,
    k6: K6Driver,
    source: MetricSource,
    evaluator: WindowEvaluator,
    evidence: McEvidence,
    context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: str,
    stage: str,
    duration: str,
    *,
    experiment: str | None,
) -> None:
    stage_qi = evidence.catalog.get(STAGE_QI[stage])
    check_stated(stage_qi, duration, where=f"the {stage} hold step")
    wall = stage_qi.target / profile.time_scale
    log_wait(evidence, f"{stage} hold of {tenant}", stage_qi.target)
    load = K6Load(
        vus=HOLD_VUS, duration_seconds=wall, keys=UNIQUE_KEYS, write_share=HOLD_WRITE_SHARE
    )
    gates = GateWindow(
        source,
        evaluator,
        evidence.catalog,
        tenant,
        interval_seconds=profile.metrics.sample_interval_seconds,
    ).for_hold(wall)
    lag_probe = _hold_lag_probe(control, profile, tenant)
    with gates:
        traffic = BackgroundLoad(k6, tenant, load, tmp_path_factory.mktemp("k6"), evidence.run_id)
        if lag_probe is not None:
            lag_probe.start()
        deadline = time.monotonic() + wall
        if experiment is not None:
            journal = tmp_path_factory.mktemp("chaos") / f"{experiment}-journal.json"
            chaos = run_experiment(
                profile,
                experiment,
                journal_path=journal,
                tenant=tenant,
                configuration={"hold_seconds": wall / 4},
                redactor=request.config.stash[SESSION_KEY].redactor,
            )
            context.chaos_results.append(chaos)
            evidence.attach(
                journal,
                name=f"chaos-journal-{experiment}.json",
                kind="chaos-journal",
                tenant=tenant,
            )
        time.sleep(max(0.0, deadline - time.monotonic()))
        result = traffic.join(timeout=wall + 120)
        gates.lag_observation = None if lag_probe is None else lag_probe.stop()
    record_k6_run(evidence, context, tenant, result, label=stage)
    evidence.measure(
        stage_qi.id,
        gates.plan_seconds,
        tenant=tenant,
        source=f"held {stage} from {datetime.fromtimestamp(gates.started, UTC)}",
    )
    context.gate_windows[(tenant, stage)] = gates


def _hold_lag_probe(
    control: ControlClient, profile: TargetProfile, tenant: str
) -> BackgroundLagProbe | None:
    """Rounds of marker writes from the tenant's primary to its other region for as long as
    the stage holds (None: a tenant of one region replicates nowhere)."""
    pair = control.tenant_status(tenant).primary_and_peer
    if pair is None:
        return None
    source, peer = pair
    return BackgroundLagProbe(
        profile, tenant, source=source, peer=peer, every_wall_seconds=ROUND_EVERY_WALL_SECONDS
    )


@then(parsers.parse('the validation gates of tenant {tenant} hold over stage "{stage}"'))
def gates_hold(
    mc_profile: TargetProfile,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tenant: str,
    stage: str,
) -> None:
    gates = mc_context.gate_windows.get((tenant, stage))
    assert gates is not None, f"stage {stage!r} of {tenant} was not held in this scenario"
    failed = []
    readings = gates.judge_gates()
    for reading in readings:
        measured = _measured(reading.judgement)
        scope = f"over {stage}"
        if reading.qi_id == LAG_GATE_QI and gates.lag_observation is not None:
            scope += (
                f", judged on the worse of it and the suite's marker writes "
                f"({gates.lag_observation.describe()})"
            )
        if isinstance(measured, Ratio):
            # A rate needs volume (0 of ~6,000 writes to show <= 0.05%): it is judged on the
            # counts of every stage of this rollout so far, which a stage's own window extends.
            earlier = mc_context.rollout_counts.get((tenant, reading.qi_id))
            if earlier is not None:
                measured = Ratio(
                    events=earlier.events + measured.events,
                    trials=earlier.trials + measured.trials,
                )
            mc_context.rollout_counts[(tenant, reading.qi_id)] = measured
            scope = f"over the rollout up to and including {stage}"
        judgement = mc_evidence.measure(
            reading.qi_id,
            measured,
            tenant=tenant,
            source=f"{reading.window.source}: {reading.window.query} {scope}",
            samples=None if isinstance(measured, Ratio) else reading.window.samples,
        )
        if judgement.verdict != Verdict.PASS:
            failed.append(f"{reading.qi_id} {judgement.verdict.value}: {judgement.reason}")
    failed += _lag_disagreement(mc_evidence, gates, readings, tenant, stage)
    # privacy_violations by where the data is: the stage was held for hours of plan time
    # under load, far past a lag-gate window, so whatever replication carried is there now
    scan = scan_and_record(mc_evidence, mc_profile, tenant, when=f"at the end of {stage}")
    failed += [f"privacy_violations (holdings inventory): {why}" for why in scan.problems()]
    mc_context.gates_passed[(tenant, stage)] = not failed
    if failed and all("no data" in reason for reason in failed):
        failed.append(f"the window's recording: {gates.recording_note()}")
    assert not failed, f"gate validation of {tenant} in stage {stage!r}: " + "; ".join(failed)


def _lag_disagreement(
    evidence: McEvidence,
    gates: GateWindow,
    readings: tuple[GateReading, ...],
    tenant: str,
    stage: str,
) -> list[str]:
    """Attach the hold's marker writes; a lag past the gate they proved that the target's
    own figure kept within it is a disagreement, named as such."""
    observation = gates.lag_observation
    if observation is None:
        return []
    evidence.attach(
        observation.model_dump_json(indent=2).encode(),
        name=f"lag-probe-{tenant}-{stage}.json",
        kind="json",
        tenant=tenant,
        media_type="application/json",
    )
    reported = next(r.window.value for r in readings if r.qi_id == LAG_GATE_QI)
    threshold = evidence.catalog.get(LAG_GATE_QI).target
    hidden = hidden_lag(observation, reported, threshold, of=f"the {LAG_GATE_QI} gate")
    return [] if hidden is None else [hidden]


@then(parsers.parse("the GLB sends {stated} of tenant {tenant}'s traffic to its second region"))
def canary_split(
    mc_control: ControlClient,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    stated: str,
    tenant: str,
) -> None:
    status = mc_control.tenant_status(tenant)
    stage = status.rollout.stage
    qi = mc_evidence.catalog.get(STAGE_QI[stage])
    expected = float(stated.strip().rstrip("%")) / 100
    if qi.weight is None or abs(expected - qi.weight) > 1e-9:
        raise StatedNumberMismatch(
            f"the feature states {stated} for {stage}, but the QI catalog's {qi.id} weight is "
            f"{qi.weight}; fix the feature"
        )
    gates = mc_context.gate_windows.get((tenant, stage))
    assert gates is not None, f"stage {stage!r} of {tenant} was not held in this scenario"
    pair = status.primary_and_peer
    assert pair is not None, f"{tenant} has one region: there is no second region to split to"
    second = pair[1]
    split = gates.traffic_split()
    share: Ratio = split.share(second)
    mc_evidence.attach(
        split.model_dump_json(indent=2).encode(),
        name=f"traffic-split-{tenant}-{stage}.json",
        kind="json",
        tenant=tenant,
    )
    # at least as many requests as the suite's own split sample, so the test has its power
    assert share.trials >= SPLIT_SAMPLE_REQUESTS, (
        f"gate canary split of {tenant} in {stage}: the GLB counted {share.trials} requests of "
        f"the tenant over the hold, fewer than the {SPLIT_SAMPLE_REQUESTS} a split check needs"
    )
    # the GLB's own count over the hold, judged like the suite's own sample of answers
    check = judge_split(second, expected, share.events, share.trials)
    assert check.consistent, (
        f"gate canary split of {tenant} in {stage} by the GLB's request counter: "
        f"{check.describe()} (exact two-sided binomial test at {SPLIT_CONFIDENCE:.1%})"
    )


@given(parsers.parse("every tenant of an earlier wave than {tenant} reached GA green"))
def earlier_waves_green(mc_profile: TargetProfile, mc_evidence: McEvidence, tenant: str) -> None:
    records = verify_chain(read_chain(mc_evidence.chain_path).records, where="the chain")
    waves = {t.id: t.wave for t in mc_profile.tenants}
    blockers = wave_blockers([r.body for r in records], waves, tenant, mc_evidence.catalog)
    assert not blockers, (
        f"gate wave order: wave {waves[tenant]} tenant {tenant} cannot start, "
        + "; ".join(
            f"earlier tenant {b.tenant} has not reached GA green in this evidence: {b.reason}"
            for b in blockers
        )
    )


def _measured(judgement: Judgement) -> float | Ratio | None:
    """The value to record again: the counts of a rate, else the value."""
    if judgement.events is not None and judgement.trials is not None:
        return Ratio(events=judgement.events, trials=judgement.trials)
    return judgement.value
