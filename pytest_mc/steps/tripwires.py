"""Tripwire expectations: the auto-action happened, within its deadline, after its window.

The deadline is written in the feature in plan time ("within 12m"); it must cover the
tripwire's window from the catalog. Time to action is measured from the moment the watch
first saw the condition (evaluated by the suite from the target's metrics, against the
catalog's threshold) to the moment every effect of the action was observed, and recorded
as a tripwire observation whether or not it passed.
"""

from __future__ import annotations

from pytest_bdd import parsers, then

from pytest_mc.drivers.tripwire_watch import ACTION_EFFECTS
from pytest_mc.errors import TargetError
from pytest_mc.fixtures import McEvidence
from pytest_mc.policy.catalog import QiDefinition
from pytest_mc.policy.crosscheck import describe_target
from pytest_mc.policy.timewindow import format_duration, parse_duration
from pytest_mc.policy.verdict import Verdict
from pytest_mc.reporting.charts import threshold_chart
from pytest_mc.steps.context import ScenarioContext

# How many metric samples the suite's first sight of a condition may lag the target's.
_SIGHTING_SLACK_SAMPLES = 2


def expect_action(
    mc_evidence: McEvidence, mc_context: ScenarioContext, qi_id: str, tenant: str, deadline: str
) -> None:
    """Assert that tripwire `qi_id` fired its catalog action on `tenant` within `deadline`."""
    qi = mc_evidence.catalog.get(qi_id)
    deadline_seconds = parse_duration(deadline)
    window = qi.window_seconds or 0.0
    if deadline_seconds < window:
        raise AssertionError(
            f"the feature's deadline {deadline} for {qi.id} is shorter than its "
            f"{format_duration(window)} window; the action cannot come that soon"
        )
    report = mc_context.last_watch
    sighting = report.tripwires[qi.id]
    seen_at = sighting.condition_first_seen_at
    if seen_at is None:
        peak = "no samples" if sighting.peak_value is None else f"peak {sighting.peak_value:g}"
        raise AssertionError(
            f"tripwire {qi.id}: the condition ({qi.comparator} {describe_target(qi)}) was never "
            f"seen on {tenant} ({peak} over {report.samples} samples); the fault did not induce it"
        )
    action = qi.action or ""
    observed_at = report.action_observed_at(action)
    observation = mc_evidence.tripwire(
        qi.id,
        tenant=tenant,
        condition=f"{_condition_text(qi)} on {tenant}",
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
            f"{tenant}; time to action {_plan(observation.time_to_action_seconds)}, effects "
            f"observed: {seen} (needed {', '.join(ACTION_EFFECTS.get(action, ()))})"
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


def _condition_text(qi: QiDefinition) -> str:
    window = f" sustained for {format_duration(qi.window_seconds)}" if qi.window_seconds else ""
    return f"{qi.id.removeprefix('tripwire_')} {qi.comparator} {describe_target(qi)}{window}"


def _plan(seconds: float | None) -> str:
    return "none (never observed)" if seconds is None else f"{format_duration(seconds)} plan"
