"""Behaviour, not configuration: each state change a scenario verifies, observed on the data plane.

After a rollback to A/P the passive region must refuse (or redirect) writes and hold none of
its own; after a GLB change the split the suite counts from the answers must fit the weight
(exact binomial test, `policy.traffic_split`); after a pause the stage must stay and an
advance be refused; after a T2 backout the derived rows must stay as they were. The target's
status names what to expect; the verdict comes from what the suite observed.
"""

from __future__ import annotations

import time

from pytest_bdd import parsers, then

from pytest_mc.drivers.behaviour_probe import probe_passive_writes, sample_split
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.dataplane import DataPlaneClient
from pytest_mc.fixtures import McEvidence
from pytest_mc.policy.timewindow import format_duration, parse_duration
from pytest_mc.policy.traffic_split import SPLIT_CONFIDENCE, SPLIT_SAMPLE_REQUESTS, judge_split
from pytest_mc.steps.autonomy import PilotRun, changed_rows
from pytest_mc.steps.backout import BackoutScenario
from pytest_mc.steps.pacing import LAG_GATE_QI, lag_window_wall_seconds, log_wait
from pytest_mc.steps.readiness import attach_json
from pytest_mc.steps.rollout import STAGE_QI

# --------------------------------------------------------------------------- rollback to A/P


@then(
    parsers.parse(
        "writes sent to the passive region of tenant {tenant} are refused or redirected "
        "and none lands there"
    )
)
def passive_region_takes_no_writes(
    mc_control: ControlClient,
    mc_dataplane: DataPlaneClient,
    mc_evidence: McEvidence,
    tenant: str,
) -> None:
    status = mc_control.tenant_status(tenant)
    active = status.primary
    if status.mode != "active-passive" or active is None or active not in status.regions:
        raise AssertionError(
            f"behaviour A/P: tenant status of {tenant} says mode {status.mode!r}, primary "
            f"{active!r}; the scenario expects it rolled back to active/passive"
        )
    passive = next(region for region in status.regions if region != active)
    report = probe_passive_writes(
        mc_dataplane,
        tenant,
        active=active,
        passive=passive,
        lag_window_wall_seconds=lag_window_wall_seconds(mc_evidence),
        poll_wall_seconds=mc_evidence.profile.metrics.sample_interval_seconds,
    )
    attach_json(mc_evidence, f"passive-writes-{tenant}.json", tenant, report.model_dump())
    assert report.marker_replicated_after_wall_seconds is not None, (
        f"behaviour A/P: the marker {report.marker_key!r} written on the active {active} never "
        f"reached the passive {passive} of {tenant}; replication into the passive side is "
        "stopped, so a landed write cannot be told from a replicated one"
    )
    problems = report.problems()
    window = format_duration(mc_evidence.catalog.get(LAG_GATE_QI).target)
    assert not problems, (
        f"behaviour A/P: the target says {tenant} is active/passive with primary {active}, but "
        f"read back from both regions a lag-gate window ({window} plan) after replication "
        f"caught up, {len(problems)} write(s) misbehaved: {'; '.join(problems[:3])}"
    )


# --------------------------------------------------------------------------- GLB split


def _expect_split(
    mc_dataplane: DataPlaneClient,
    mc_evidence: McEvidence,
    tenant: str,
    weights: dict[str, float],
    why: str,
) -> None:
    sample = sample_split(mc_dataplane, tenant, requests=SPLIT_SAMPLE_REQUESTS)
    checks = (
        [
            judge_split(region, weight, sample.served_by.get(region, 0), sample.known)
            for region, weight in sorted(weights.items())
        ]
        if sample.known
        else []
    )
    attach_json(
        mc_evidence,
        f"split-{tenant}.json",
        tenant,
        {
            "expected_weights": weights,
            "sample": sample.model_dump(),
            "checks": [c.model_dump() | {"consistent": c.consistent} for c in checks],
        },
    )
    assert sample.known >= sample.requests // 2, (
        f"behaviour GLB split: only {sample.known} of {sample.requests} answers for {tenant} "
        f"named the region that served them (statuses {sample.statuses}); the split cannot be "
        "measured"
    )
    elsewhere = {r: n for r, n in sample.served_by.items() if r not in weights}
    wrong = [c.describe() for c in checks if not c.consistent]
    consistent = not wrong and not elsewhere
    assert consistent, (
        f"behaviour GLB split: {why}, but of {sample.known} answers through the GLB "
        + "; ".join(wrong + [f"{r} served {n} (weight 0)" for r, n in elsewhere.items()])
        + f" (exact two-sided binomial test at {SPLIT_CONFIDENCE:.1%})"
    )


@then(
    parsers.parse(
        'the answers of tenant {tenant} through the GLB show the "{stage}" weight on its '
        "second region"
    )
)
def answers_show_stage_weight(
    mc_control: ControlClient,
    mc_dataplane: DataPlaneClient,
    mc_evidence: McEvidence,
    tenant: str,
    stage: str,
) -> None:
    if stage not in STAGE_QI or not stage.startswith("canary-"):
        raise AssertionError(
            f"the feature names stage {stage!r}; the split is checked for canary stages only "
            f"({', '.join(s for s in STAGE_QI if s.startswith('canary-'))})"
        )
    weight = mc_evidence.catalog.get(STAGE_QI[stage]).weight
    assert weight is not None, f"the QI catalog's {STAGE_QI[stage]} has no weight"
    status = mc_control.tenant_status(tenant)
    assert status.rollout.stage == stage, (
        f"behaviour GLB split: {tenant} is at stage {status.rollout.stage!r}, not {stage!r}"
    )
    pair = status.primary_and_peer
    assert pair is not None, f"behaviour GLB split: {tenant} has one region, nothing to split"
    primary, second = pair
    _expect_split(
        mc_dataplane,
        mc_evidence,
        tenant,
        {primary: 1.0 - weight, second: weight},
        f"stage {stage} sends {weight:.0%} of {tenant}'s traffic to {second} "
        f"(catalog {STAGE_QI[stage]})",
    )


@then(
    parsers.parse(
        "the answers of tenant {tenant} through the GLB show all of its traffic on the "
        "biased region"
    )
)
def answers_show_bias(
    mc_dataplane: DataPlaneClient,
    mc_evidence: McEvidence,
    mc_backout: BackoutScenario,
    tenant: str,
) -> None:
    region = mc_backout.biased_to
    assert region is not None, "the GLB was not biased in this scenario"
    _expect_split(
        mc_dataplane, mc_evidence, tenant, {region: 1.0}, f"the GLB bias sends {tenant} to {region}"
    )


@then(
    parsers.parse(
        "the answers of tenant {tenant} through the GLB show all of its traffic where its "
        "GLB bias sends it"
    )
)
def answers_follow_published_bias(
    mc_control: ControlClient,
    mc_dataplane: DataPlaneClient,
    mc_evidence: McEvidence,
    tenant: str,
) -> None:
    """After a tripwire's bias: the status names the region(s), the answers must follow."""
    bias = mc_control.tenant_status(tenant).glb.bias
    if not bias:
        raise AssertionError(f"behaviour GLB split: the target reports no GLB bias for {tenant}")
    if isinstance(bias, str):
        weights = {bias: 1.0}
    else:
        total = sum(bias.values())
        weights = {region: weight / total for region, weight in bias.items() if weight > 0}
    _expect_split(
        mc_dataplane,
        mc_evidence,
        tenant,
        weights,
        f"the target reports a GLB bias of {tenant} to {bias}",
    )


# --------------------------------------------------------------------------- pause


@then(
    parsers.parse(
        "over {duration} of plan time the rollout of tenant {tenant} keeps its stage and "
        "refuses an advance"
    )
)
def paused_stage_holds(
    mc_control: ControlClient, mc_evidence: McEvidence, duration: str, tenant: str
) -> None:
    """`--force` skips a stage's minimum duration, never a pause (target contract §2): a
    refusal then has one reason the contract allows, the pause."""
    first = mc_control.tenant_status(tenant).rollout.stage
    attempt = mc_control.attempt("rollout", "advance", "--tenant", tenant, "--force")
    after_advance = mc_control.tenant_status(tenant).rollout.stage
    time.sleep(log_wait(mc_evidence, f"paused stage of {tenant}", parse_duration(duration)))
    later = mc_control.tenant_status(tenant).rollout.stage
    attach_json(
        mc_evidence,
        f"paused-stage-{tenant}.json",
        tenant,
        {
            "stage_first": first,
            "advance_exit_code": attempt.exit_code,
            "advance_message": attempt.message,
            "stage_after_advance": after_advance,
            "stage_later": later,
            "apart_plan": duration,
        },
    )
    refused = attempt.exit_code == 1 and after_advance == first
    assert refused, (
        f"behaviour pause: `rollout advance --force` of paused {tenant} at {first!r} was not "
        f"refused (exit {attempt.exit_code}); the stage is now {after_advance!r}"
    )
    assert later == first, (
        f"behaviour pause: the stage of paused {tenant} moved from {first!r} to {later!r} "
        f"within {duration} of plan time"
    )


# --------------------------------------------------------------------------- T2 backout


@then(
    parsers.parse(
        "a lag-gate window later no derived row of tenant {tenant} changed in any of its regions"
    )
)
def derived_rows_still_unchanged(mc_evidence: McEvidence, mc_pilot: PilotRun, tenant: str) -> None:
    """Read the derived rows again once replication could have carried a late write: a
    refusal that still applies the enactment, or applies it later, changes a row."""
    before = mc_pilot.derived_before_enactment
    assert before is not None, "autonomy: no enactment was attempted in this scenario"
    time.sleep(lag_window_wall_seconds(mc_evidence))
    after = mc_pilot.derived(tenant)
    changed = changed_rows(before, after)
    attach_json(
        mc_evidence, f"derived-after-t2-{tenant}.json", tenant, {"before": before, "after": after}
    )
    assert not changed, (
        f"behaviour T2: {tenant} is at tier T2 (enactments disabled) and the enactment was "
        f"refused, yet read through the data plane {len(changed)} derived row(s) changed: "
        f"{'; '.join(changed[:3])}"
    )
