"""Tripwire expectations: the auto-action happened, within its deadline, after its window.

The deadline is written in the feature in plan time ("within 12m"); it must cover the
tripwire's window from the catalog. Time to action is measured from the moment the watch
first saw the condition (evaluated by the suite from the target's metrics, against the
catalog's threshold) to the moment every effect of the action was observed, and recorded
as a tripwire observation whether or not it passed. Where the suite counts a tripwire's figure
itself (the error budget, from the request counters), the crossing is the suite's, not the
target's gauge's. A fault sized from the threshold must have produced the intended level: the
typical and extreme values the watch saw are named beside the threshold in every verdict.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from pytest_bdd import given, parsers, then

from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.tripwire_watch import (
    ACTION_EFFECTS,
    TripwireSighting,
    WatchReport,
    read_budget_period,
)
from pytest_mc.errors import TargetError
from pytest_mc.fixtures import McEvidence
from pytest_mc.metrics.source import MetricSource
from pytest_mc.policy.catalog import QiDefinition
from pytest_mc.policy.crosscheck import describe_target
from pytest_mc.policy.timewindow import format_duration, parse_duration
from pytest_mc.policy.verdict import Verdict, compare
from pytest_mc.reporting.charts import threshold_chart
from pytest_mc.steps.chaos import BUDGET_PERIODS
from pytest_mc.steps.context import ScenarioContext

# How many metric samples the suite's first sight of a condition may lag the target's.
_SIGHTING_SLACK_SAMPLES = 2


def expect_action(
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    qi_id: str,
    tenant: str,
    deadline: str,
    *,
    suite_counted: bool = False,
) -> None:
    """Assert that tripwire `qi_id` fired its catalog action on `tenant` within `deadline` of
    the crossing (the suite's own count of the figure when `suite_counted`)."""
    qi = mc_evidence.catalog.get(qi_id)
    deadline_seconds = parse_duration(deadline)
    window = qi.window_seconds or 0.0
    if deadline_seconds < window:
        raise AssertionError(
            f"the feature's deadline {deadline} for {qi.id} is shorter than its "
            f"{format_duration(window)} window; the action cannot come that soon"
        )
    report = mc_context.last_watch
    sighting = _sighting(report, qi, suite_counted=suite_counted)
    figures = observed_figures(report, sighting, qi)
    seen_at = sighting.condition_first_seen_at
    if seen_at is None:
        raise AssertionError(
            f"tripwire {qi.id}: the condition ({qi.comparator} {describe_target(qi)}) was never "
            f"seen on {tenant} ({figures} over {report.samples} samples); the fault did not "
            f"induce it"
        )
    _fault_reached_its_level(report, sighting, qi, tenant, figures)
    action = qi.action or ""
    observed_at = report.action_observed_at(action)
    whose = _whose(report, qi, suite_counted, seen_at)
    observation = mc_evidence.tripwire(
        qi.id,
        tenant=tenant,
        condition=f"{_condition_text(qi)} on {tenant} ({whose}; {figures})",
        condition_seen_at=seen_at,
        action_observed=action if observed_at is not None else None,
        action_observed_at=observed_at,
        deadline_seconds=deadline_seconds,
    )
    marks = [("condition seen", seen_at)] + ([(action, observed_at)] if observed_at else [])
    chart = threshold_chart(
        sighting,
        title=f"{qi.id} on {tenant} (threshold {qi.comparator} {describe_target(qi)})",
        threshold=qi.target,
        unit=qi.unit,
        time_scale=mc_evidence.time_scale,
        marks=marks,
    )
    mc_evidence.attach(
        chart, name=f"{qi.id}-{tenant}.png", kind="chart", tenant=tenant, media_type="image/png"
    )
    if observation.verdict != Verdict.PASS:
        seen = ", ".join(sorted(report.effects_first_seen_at)) or "none"
        raise AssertionError(
            f"tripwire {qi.id}: expected {action} within {deadline} of the condition on "
            f"{tenant} ({whose}, at {seen_at.isoformat()}; {figures}); time to action "
            f"{_plan(observation.time_to_action_seconds)}, effects observed: {seen} (needed "
            f"{', '.join(ACTION_EFFECTS.get(action, ()))})"
        )
    if action == "bias_glb" and observed_at is not None:
        # a weight of 100 is also what a rollback to A/P shows (all traffic to the primary):
        # a bias is seen only when the tenant stayed active/active
        rollback = explained_by_rollback(
            report, {"glb_biased": observed_at}, mc_evidence.profile.metrics.sample_interval_seconds
        )
        if rollback is not None:
            raise AssertionError(
                f"tripwire {qi.id}: expected {action} on {tenant}, but {rollback}; the tenant "
                "is no longer active/active"
            )
    resolution = max(
        mc_evidence.profile.metrics.sample_interval_seconds, sighting.resolution_seconds()
    )
    earliest = window - _SIGHTING_SLACK_SAMPLES * resolution * mc_evidence.time_scale
    taken = observation.time_to_action_seconds or 0.0
    if window and taken < earliest:
        raise AssertionError(
            f"tripwire {qi.id}: {action} came {_plan(taken)} after the condition, before its "
            f"{format_duration(window)} window had passed; the target does not honour the window"
        )


@then(parsers.parse("within {deadline} the rollout of tenant {tenant} is paused"))
def rollout_paused(
    mc_evidence: McEvidence, mc_context: ScenarioContext, deadline: str, tenant: str
) -> None:
    expect_action(mc_evidence, mc_context, "tripwire_error_budget", tenant, deadline)


@then(parsers.parse("within {deadline} the GLB biases tenant {tenant} to the healthy region"))
def glb_biased(
    mc_evidence: McEvidence, mc_context: ScenarioContext, deadline: str, tenant: str
) -> None:
    expect_action(mc_evidence, mc_context, "tripwire_replication_lag", tenant, deadline)


@then(
    parsers.parse(
        "within {deadline} the {qi_id} tripwire rolls tenant {tenant} back to active/passive"
    )
)
def rolled_back_to_ap(
    mc_evidence: McEvidence, mc_context: ScenarioContext, deadline: str, qi_id: str, tenant: str
) -> None:
    expect_action(mc_evidence, mc_context, qi_id, tenant, deadline)


@then(
    parsers.parse(
        "within {deadline} tenant {tenant} is rolled back to active/passive and the DPO is paged"
    )
)
def rolled_back_and_paged(
    mc_evidence: McEvidence, mc_context: ScenarioContext, deadline: str, tenant: str
) -> None:
    expect_action(mc_evidence, mc_context, "tripwire_residency", tenant, deadline)


@then(parsers.parse("within {deadline} autonomy on tenant {tenant} halts by {qi_id}"))
def autonomy_halted(
    mc_evidence: McEvidence, mc_context: ScenarioContext, deadline: str, tenant: str, qi_id: str
) -> None:
    expect_action(mc_evidence, mc_context, qi_id, tenant, deadline)


@given(
    parsers.parse(
        "the suite counts the error budget of tenant {tenant} from a restart of its period"
    )
)
def budget_counted_by_suite(
    request: pytest.FixtureRequest,
    mc_control: ControlClient,
    mc_metrics: MetricSource,
    mc_evidence: McEvidence,
    tenant: str,
) -> None:
    """Restart the target's budget period and read the request counters at once: from here the
    suite computes the remaining budget itself (docs/target-contract.md §4)."""
    mc_control.call("slo", "reset-budget", "--tenant", tenant)
    availability = mc_evidence.profile.tenant(tenant).slo_baseline.availability
    try:
        period = read_budget_period(mc_metrics, tenant, availability=availability)
    except ValueError as exc:
        raise AssertionError(str(exc)) from None
    periods = request.node.stash.setdefault(BUDGET_PERIODS, {})
    periods[tenant] = period


@then(
    parsers.parse(
        "the rollout of tenant {tenant} is paused within {deadline} of the crossing the suite "
        "counted"
    )
)
def rollout_paused_at_suite_crossing(
    mc_evidence: McEvidence, mc_context: ScenarioContext, deadline: str, tenant: str
) -> None:
    expect_action(
        mc_evidence, mc_context, "tripwire_error_budget", tenant, deadline, suite_counted=True
    )


@then(parsers.parse("tripwire {qi_id} does not act on tenant {tenant}"))
def tripwire_does_not_act(
    mc_evidence: McEvidence, mc_context: ScenarioContext, qi_id: str, tenant: str
) -> None:
    """A fault sized below the threshold, held past the window: no effect of the action."""
    qi = mc_evidence.catalog.get(qi_id)
    report = mc_context.last_watch
    sighting = report.tripwires[qi.id]
    figures = observed_figures(report, sighting, qi)
    if sighting.typical_value(report.fault_held_until()) is None:
        raise AssertionError(
            f"tripwire {qi.id}: no sample of its figure on {tenant}; a tripwire that is not "
            f"watched cannot be shown to stay quiet"
        )
    _fault_reached_its_level(report, sighting, qi, tenant, figures)
    effects = ACTION_EFFECTS.get(qi.action or "", ())
    acted = {
        e: report.effects_first_seen_at[e] for e in effects if e in report.effects_first_seen_at
    }
    summary = {"tripwire": qi.id, "tenant": tenant, "observed": figures, "samples": report.samples}
    explained = explained_by_rollback(
        report, acted, mc_evidence.profile.metrics.sample_interval_seconds
    )
    if explained is not None:
        summary["explained"] = explained
        acted = {}
    mc_evidence.attach(
        json.dumps(summary, indent=2).encode(),
        name=f"{qi.id}-{tenant}-below-threshold.json",
        kind="json",
        tenant=tenant,
    )
    assert not acted, (
        f"tripwire {qi.id}: {', '.join(f'{e} at {at.isoformat()}' for e, at in acted.items())} "
        f"on {tenant} although its figure stayed on the safe side of {qi.comparator} "
        f"{describe_target(qi)} ({figures})"
    )


@then(parsers.parse("the GLB does not bias tenant {tenant}"))
def glb_not_biased(mc_evidence: McEvidence, mc_context: ScenarioContext, tenant: str) -> None:
    qi = mc_evidence.catalog.get("tripwire_replication_lag")
    report = mc_context.last_watch
    sighting = report.tripwires[qi.id]
    held = sighting.held_seconds()
    window = qi.window_seconds or 0.0
    if held is None:
        raise AssertionError(
            f"tripwire {qi.id}: the lag never exceeded {describe_target(qi)} on {tenant}; the "
            f"scenario's premise (a short breach) was not met"
        )
    # The premise is a breach shorter than the window by more than the watch can resolve.
    resolution = max(
        mc_evidence.profile.metrics.sample_interval_seconds, sighting.resolution_seconds()
    )
    held_plan = (held + _SIGHTING_SLACK_SAMPLES * resolution) * mc_evidence.time_scale
    if held_plan >= window:
        raise TargetError(
            f"tripwire {qi.id}: the lag stayed above {describe_target(qi)} for about "
            f"{_plan(held_plan)}, not less than the {format_duration(window)} window; this "
            f"machine cannot hold a breach short enough at time scale {mc_evidence.time_scale:g}"
        )
    biased_at = report.effects_first_seen_at.get("glb_biased")
    assert biased_at is None, (
        f"tripwire {qi.id}: the GLB biased {tenant} at {biased_at.isoformat()} although the "
        f"lag was above {describe_target(qi)} for only {_plan(held * mc_evidence.time_scale)}, "
        f"less than its {format_duration(window)} window"
    )


def explained_by_rollback(
    report: WatchReport, acted: dict[str, datetime], sample_interval_seconds: float
) -> str | None:
    """A GLB weight of 100 seen with a rollback to A/P (another tripwire's action, or a target
    that rolls back where it should bias: the rollback sends all traffic to the primary) is the
    rollback's, not a bias; returns why, or None."""
    biased_at = acted.get("glb_biased")
    rolled_back_at = report.effects_first_seen_at.get("tenant_active_passive")
    if set(acted) != {"glb_biased"} or biased_at is None or rolled_back_at is None:
        return None
    resolution = max(
        sample_interval_seconds,
        max((s.resolution_seconds() for s in report.tripwires.values()), default=0.0),
    )
    if abs((rolled_back_at - biased_at).total_seconds()) > _SIGHTING_SLACK_SAMPLES * resolution:
        return None
    return (
        f"the GLB weight went to 100 at {biased_at.isoformat()} with a rollback to A/P seen at "
        f"{rolled_back_at.isoformat()}: the weights of a rollback, not a bias"
    )


def _sighting(report: WatchReport, qi: QiDefinition, *, suite_counted: bool) -> TripwireSighting:
    if not suite_counted:
        return report.tripwires[qi.id]
    counted = report.suite_tripwires.get(qi.id)
    if counted is None:
        raise AssertionError(
            f"tripwire {qi.id}: the suite did not count this figure itself (it counts "
            f"{sorted(report.suite_tripwires) or 'none'}); the watch had no counters for it"
        )
    return counted


def observed_figures(report: WatchReport, sighting: TripwireSighting, qi: QiDefinition) -> str:
    """What the watch saw of a tripwire's figure, beside its threshold (and the sized fault)."""
    until = report.fault_held_until()
    typical = sighting.typical_value(until)
    text = (
        "no samples"
        if typical is None
        else f"typical {typical:g}, extreme {sighting.peak_value:g} {qi.unit} against "
        f"{qi.comparator} {qi.target:g}"
    )
    induced = report.induced
    if induced is not None and induced.qi_id == qi.id:
        text += (
            f"; fault sized at {induced.factor:g}x the threshold: {induced.config_key}="
            f"{induced.magnitude:g} {induced.magnitude_unit}"
        )
    return text


def _fault_reached_its_level(
    report: WatchReport, sighting: TripwireSighting, qi: QiDefinition, tenant: str, figures: str
) -> None:
    """A fault sized past (below) the threshold must have held the figure past (below) it
    most of the time; otherwise the scenario's premise failed, not the target's tripwire."""
    induced = report.induced
    if induced is None or induced.qi_id != qi.id or induced.config_key == "error_rate":
        return  # the error budget is cumulative: its level is judged by the crossing itself
    typical = sighting.typical_value(report.fault_held_until())
    breached = typical is not None and compare(qi.comparator, typical, qi.target)
    if breached != (induced.factor > 1.0):
        side = "past" if induced.factor > 1.0 else "below"
        raise TargetError(
            f"tripwire {qi.id}: the fault sized at {induced.factor:g}x did not hold the figure "
            f"{side} {qi.comparator} {describe_target(qi)} on {tenant} ({figures})"
        )


def _whose(report: WatchReport, qi: QiDefinition, suite_counted: bool, seen_at: datetime) -> str:
    """Whose figure the crossing is on; with the suite's, the target's gauge at that moment."""
    if not suite_counted:
        return "crossing seen on the target's metric"
    gauge = [p for p in report.tripwires[qi.id].points if p.at <= seen_at]
    told = f"{gauge[-1].value:g}" if gauge else "not yet sampled"
    return f"crossing counted by the suite from the request counters; target's gauge then {told}"


def _condition_text(qi: QiDefinition) -> str:
    window = f" sustained for {format_duration(qi.window_seconds)}" if qi.window_seconds else ""
    return f"{qi.id.removeprefix('tripwire_')} {qi.comparator} {describe_target(qi)}{window}"


def _plan(seconds: float | None) -> str:
    return "none (never observed)" if seconds is None else f"{format_duration(seconds)} plan"
