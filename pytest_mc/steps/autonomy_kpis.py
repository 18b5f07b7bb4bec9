"""Autonomy pilot KPI steps (plan §B.2): a campaign of cycles, judged with exact bounds.

The campaign (`pytest_mc.drivers.autonomy_campaign`) runs as many cycles as the catalog's
confidence needs for the three rate KPIs to be conclusive (2,995 clean cycles for ≥ 99.9% at
95%), or `MC_AUTONOMY_CYCLES` of them when that is set (a short run is honestly
inconclusive, and says how many more clean cycles would settle it). All three rates, the
cost budget consumed (the most the tenant's cost gauge showed while the campaign ran), the
privacy incidents and the P1s are recorded as soon as the campaign ends, so a failing `Then`
loses none of them; every enactment is recorded as an `enactment_audit`. The cycles' commands
go through the target's control API when its profile names one (`control.api_url`), else
through the control CLI; the campaign's record names the channel.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from pytest_bdd import parsers, then, when

from pytest_mc.drivers.autonomy_campaign import (
    AutonomyCampaign,
    CampaignResult,
    Cycle,
    cycles_for_conclusive_kpis,
)
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.control_api import ControlApi
from pytest_mc.drivers.gates import GateWindow
from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_models import K6Load
from pytest_mc.errors import InputError
from pytest_mc.evidence.records import EnactmentAudit
from pytest_mc.fixtures import McEvidence
from pytest_mc.metrics.evaluator import WindowEvaluator
from pytest_mc.metrics.source import MetricQuery, MetricSource
from pytest_mc.policy.crosscheck import check_stated
from pytest_mc.policy.timewindow import parse_duration
from pytest_mc.policy.verdict import Judgement, Verdict
from pytest_mc.session import SESSION_KEY
from pytest_mc.steps.autonomy import PilotRun
from pytest_mc.steps.context import ScenarioContext
from pytest_mc.steps.load import DEFAULT_VUS, record_k6_run
from pytest_mc.steps.pacing import log_wait

CYCLES_ENV = "MC_AUTONOMY_CYCLES"
# Wall seconds per cycle the campaign's metric recording is sized for (a cycle takes 0.08 s
# over the reference staging's control API, 0.75 s over its CLI); a slower campaign keeps its
# latest samples only, and a cost reading whose samples no longer span the campaign is
# inconclusive, never a pass.
_RECORDED_SECONDS_PER_CYCLE = 4.0
# The cost gauge is the consumption of the last plan day (docs/target-contract.md §4) and
# the campaign takes its maximum, so it needs samples spread over the campaign, not the
# profile's rate: about 100 over a campaign as fast as the control API makes it, at most a
# second apart (under 1% of the gauge's window at time scale 600), never faster than the
# profile's rate.
_COST_SAMPLES = 100
_FAST_CYCLE_WALL_SECONDS = 0.08
_COST_SAMPLE_MAX_WALL_SECONDS = 1.0


@dataclass
class PilotKpis:
    """The campaign and the judgements recorded from it."""

    campaign: CampaignResult
    judgements: dict[str, Judgement]

    def __repr__(self) -> str:
        # what a report shows as the argument of each KPI step: the whole campaign's repr was
        # 1.4 MB per step (every cycle), the campaign itself is an artifact of its own
        campaign = self.campaign
        return (
            f"PilotKpis({campaign.tenant}, {campaign.trials} cycles over the "
            f"{campaign.channel}, KPIs {sorted(self.judgements)})"
        )


def campaign_size(mc_evidence: McEvidence) -> int:
    """`MC_AUTONOMY_CYCLES` when set, else the cycles the catalog needs for conclusive KPIs."""
    configured = os.environ.get(CYCLES_ENV, "").strip()
    if not configured:
        return cycles_for_conclusive_kpis(mc_evidence.catalog)
    try:
        cycles = int(configured)
    except ValueError:
        cycles = 0
    if cycles < 1:
        raise InputError(f"{CYCLES_ENV}={configured!r}: give a whole number of cycles, at least 1")
    return cycles


def _cost_sample_seconds(profile_interval: float, cycles: int) -> float:
    """How often (wall) the campaign samples the cost gauge."""
    spread = cycles * _FAST_CYCLE_WALL_SECONDS / _COST_SAMPLES
    return max(profile_interval, min(_COST_SAMPLE_MAX_WALL_SECONDS, spread))


def _share(text: str) -> float:
    stripped = text.strip()
    try:
        share = float(stripped.removesuffix("%")) / (100 if stripped.endswith("%") else 1)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise AssertionError(f"drift share {text!r} in the feature: write a percentage like 2%")
    return share


def _incident_counts(
    mc_control: ControlClient, mc_metrics: MetricSource, tenant: str
) -> tuple[float, int, int]:
    violations = mc_metrics.sample(
        MetricQuery.of("mc_residency_violations_total", aggregation="sum", tenant=tenant)
    ).single()
    pages = len(mc_control.dpo_pages(tenant).pages)
    events = len(mc_control.tripwire_events(tenant).events)
    return violations or 0.0, pages, events


@when(
    parsers.parse(
        "a campaign of autonomy cycles runs on tenant {tenant} with derived-data drift "
        "in {share} of them"
    ),
    target_fixture="pilot_kpis",
)
def autonomy_campaign(
    request: pytest.FixtureRequest,
    mc_evidence: McEvidence,
    mc_pilot: PilotRun,
    mc_control: ControlClient,
    mc_metrics: MetricSource,
    mc_evaluator: WindowEvaluator,
    tenant: str,
    share: str,
) -> PilotKpis:
    cycles = campaign_size(mc_evidence)
    recorder = request.config.stash[SESSION_KEY].recorder
    nodeid = request.node.nodeid

    def audit(cycle: Cycle) -> None:
        if cycle.enactment_id is None:
            return
        recorder.record(
            EnactmentAudit(
                tenant=tenant,
                nodeid=nodeid,
                enactment_id=cycle.enactment_id,
                op_set="derived_updates",
                tier="T3",
                scope="read-only",
                simulation_digest=cycle.simulation_digest or "unknown",
                approval_fingerprint=cycle.approval_fingerprint,
                outcome="compensated"
                if cycle.compensated
                else "enacted"
                if cycle.outcome == "succeeded"
                else "aborted",
                changes=cycle.changes,
                detail=cycle.abort_reason or (cycle.detail or None),
            )
        )

    campaign = AutonomyCampaign(
        mc_evidence.profile, mc_pilot.driver, mc_pilot.reader, on_secret=mc_evidence.register_secret
    )
    cost = GateWindow(
        mc_metrics,
        mc_evaluator,
        mc_evidence.catalog,
        tenant,
        interval_seconds=_cost_sample_seconds(
            mc_evidence.profile.metrics.sample_interval_seconds, cycles
        ),
    ).for_hold(cycles * _RECORDED_SECONDS_PER_CYCLE)
    violations, pages, events = _incident_counts(mc_control, mc_metrics, tenant)
    with ExitStack() as stack:
        api = None
        if mc_evidence.profile.control.api_url:
            api = stack.enter_context(
                ControlApi(mc_evidence.profile, on_secret=mc_evidence.register_secret)
            )
        stack.enter_context(mc_pilot.driver.over_api(api))
        stack.enter_context(cost)
        result = campaign.run(tenant, cycles, drift_share=_share(share), on_cycle=audit)
    violations_after, pages_after, events_after = _incident_counts(mc_control, mc_metrics, tenant)
    budget = cost.budget_consumed()
    mc_evidence.attach(
        result.model_dump_json(indent=2).encode(),
        name=f"autonomy-campaign-{tenant}.json",
        kind="json",
        tenant=tenant,
    )
    source = f"autonomy campaign of {result.trials} cycles ({result.drift_cycles} with drift)"
    judgements = {
        "autonomy_success_rate": mc_evidence.measure(
            "autonomy_success_rate", result.successes, tenant=tenant, source=source
        ),
        "compensation_rate": mc_evidence.measure(
            "compensation_rate", result.compensations, tenant=tenant, source=source
        ),
        "sim_false_negative_rate": mc_evidence.measure(
            "sim_false_negative_rate", result.false_negatives, tenant=tenant, source=source
        ),
        "privacy_incidents": mc_evidence.measure(
            "privacy_incidents",
            (violations_after - violations) + (pages_after - pages),
            tenant=tenant,
            source="residency violations (metrics) + DPO pages during the campaign",
            samples=result.trials,
        ),
        "cost_within_budget": mc_evidence.measure(
            "cost_within_budget",
            budget.value,
            tenant=tenant,
            source=f"{budget.source}: {budget.query} over the campaign ({budget.reason})",
            samples=budget.samples,
        ),
        "p1_incidents": mc_evidence.measure(
            "p1_incidents",
            events_after - events,
            tenant=tenant,
            source="tripwire auto-actions on the pilot tenant during the campaign",
            samples=result.trials,
        ),
    }
    return PilotKpis(campaign=result, judgements=judgements)


def _kpi(pilot_kpis: PilotKpis, mc_evidence: McEvidence, qi_id: str, stated: str) -> None:
    check_stated(mc_evidence.catalog.get(qi_id), stated, where=f"the {qi_id} step")
    judgement = pilot_kpis.judgements[qi_id]
    if judgement.verdict == Verdict.PASS:
        return
    campaign = pilot_kpis.campaign
    examples = "; ".join(f"cycle {c.index}: {c.detail}" for c in campaign.failures())
    more = (
        f" (the campaign ran {CYCLES_ENV}={os.environ.get(CYCLES_ENV)} cycles; unset it for "
        f"the {cycles_for_conclusive_kpis(mc_evidence.catalog)} the catalog needs)"
        if judgement.verdict == Verdict.INCONCLUSIVE and os.environ.get(CYCLES_ENV)
        else ""
    )
    raise AssertionError(
        f"gate KPI {qi_id} {judgement.verdict.value} over {campaign.trials} cycles: "
        f"{judgement.reason}{more}" + (f" [{examples}]" if examples else "")
    )


@then(parsers.parse("the autonomy success rate of tenant {tenant} is at least {stated}"))
def success_rate(pilot_kpis: PilotKpis, mc_evidence: McEvidence, tenant: str, stated: str) -> None:
    _kpi(pilot_kpis, mc_evidence, "autonomy_success_rate", stated)


@then(parsers.parse("the compensation rate of tenant {tenant} is at most {stated}"))
def compensation_rate(
    pilot_kpis: PilotKpis, mc_evidence: McEvidence, tenant: str, stated: str
) -> None:
    _kpi(pilot_kpis, mc_evidence, "compensation_rate", stated)


@then(parsers.parse("the simulation false-negative rate of tenant {tenant} is at most {stated}"))
def false_negative_rate(
    pilot_kpis: PilotKpis, mc_evidence: McEvidence, tenant: str, stated: str
) -> None:
    _kpi(pilot_kpis, mc_evidence, "sim_false_negative_rate", stated)


@then(parsers.parse("the campaign caused no privacy incident and no P1 on tenant {tenant}"))
def no_incidents(pilot_kpis: PilotKpis, tenant: str) -> None:
    for qi_id in ("privacy_incidents", "p1_incidents"):
        judgement = pilot_kpis.judgements[qi_id]
        assert judgement.verdict == Verdict.PASS, (
            f"gate KPI {qi_id} on {tenant}: {judgement.reason}"
        )


@then(parsers.parse("the campaign on tenant {tenant} stayed within its cost budget"))
def within_cost_budget(pilot_kpis: PilotKpis, tenant: str) -> None:
    judgement = pilot_kpis.judgements["cost_within_budget"]
    assert judgement.verdict == Verdict.PASS, (
        f"gate KPI cost_within_budget on {tenant}: {judgement.reason}"
    )


@when(parsers.parse("k6 reads the data of tenant {tenant} for {duration} of plan time"))
def k6_reads(
    mc_k6: K6Driver,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: str,
    duration: str,
) -> None:
    """Read-only k6 traffic: writes to an active/active tenant conflict now and then, which
    would trip its conflict tripwire and move the base data under the derived-data checks."""
    plan_seconds = parse_duration(duration)
    load = K6Load.for_plan_duration(
        plan_seconds, time_scale=mc_evidence.time_scale, vus=DEFAULT_VUS, write_share=0.0
    )
    log_wait(mc_evidence, f"read-only k6 on {tenant}", plan_seconds)
    work_dir = tmp_path_factory.mktemp("k6")
    result = mc_k6.run(tenant, load, work_dir=work_dir, run_id=mc_evidence.run_id)
    record_k6_run(mc_evidence, mc_context, tenant, result, label="read-only")


@then(parsers.parse("no SLO of tenant {tenant} regressed against its baseline"))
def no_slo_regression(mc_evidence: McEvidence, mc_context: ScenarioContext, tenant: str) -> None:
    summary = mc_context.last_k6.summary
    baseline = mc_evidence.profile.tenant(tenant).slo_baseline
    regressions: list[str] = []
    if summary.requests:
        availability = 1 - summary.failed_requests / summary.requests
        if availability < baseline.availability:
            regressions.append(f"availability {availability:.4%} < {baseline.availability:.3%}")
    p95 = summary.latency_ms.p95 if summary.latency_ms else None
    if p95 is not None and p95 > baseline.latency_p95_ms:
        regressions.append(f"latency p95 {p95:.0f} ms > {baseline.latency_p95_ms:g} ms")
    judgement = mc_evidence.measure(
        "slo_regression",
        len(regressions) if summary.requests and p95 is not None else None,
        tenant=tenant,
        source="k6 after the autonomy campaign vs the tenant's SLO baseline",
        samples=summary.requests,
    )
    assert judgement.verdict == Verdict.PASS, (
        f"gate KPI slo_regression on {tenant}: {judgement.reason}"
        + (f" ({'; '.join(regressions)})" if regressions else "")
    )
