"""Autonomy tripwire steps (plan §B.4): burn halts autonomy, a risk anomaly or a residency
denial aborts the enactment.

Error-budget burn is induced by the `error-budget-burn` experiment (the chaos step) while the
tripwire watch looks on: the suite sees the burn condition itself, from the target's metrics
against the catalog's threshold, and the halt as `mc_autonomy_halted`; the target's own event
log must attribute a `halt_autonomy` to the tripwire, and an approved enactment must then be
refused. The enactment aborts are induced by experiments too, and the approved enactment runs
while each holds: `base-data-burst` moves more than half of the tenant's base data after the
simulation (a risk-score anomaly); `placement-drift` puts a region outside the tenant's
jurisdiction into its placement, and that region's residency gate must deny. Time to
action is recorded with `mc_evidence.tripwire` in every case. Burn scenarios wait for the burn
to clear and put the error budget and the rollout back, so later scenarios start from a quiet
tenant.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytest_bdd import given, parsers, then, when

from pytest_mc.drivers.autonomy_models import EnactmentRecord
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_models import K6Load
from pytest_mc.fixtures import McEvidence
from pytest_mc.policy.timewindow import parse_duration
from pytest_mc.policy.verdict import Verdict
from pytest_mc.steps.autonomy import (
    PilotRun,
    approve,
    enact,
    simulate_derived_updates,
)
from pytest_mc.steps.chaos import ChaosStepRun, run_chaos
from pytest_mc.steps.context import ScenarioContext
from pytest_mc.steps.load import BACKGROUND_VUS, K6_WARMUP_SECONDS, BackgroundLoad, record_k6_run
from pytest_mc.steps.pacing import log_wait
from pytest_mc.target.profile import TargetProfile

BURN_TRIPWIRES = {"tripwire_burn_fast": "burn_fast", "tripwire_burn_slow": "burn_slow"}
_QUIET_MARGIN_SECONDS = 5.0


@pytest.fixture
def mc_burn_cleanup(mc_profile: TargetProfile, mc_control: ControlClient) -> Iterator[list[str]]:
    """Tenants whose error budget a scenario burnt: quiet, budget reset, rollout resumed."""
    tenants: list[str] = []
    yield tenants
    for tenant in tenants:
        settle_burn(mc_profile, mc_control, tenant)


def settle_burn(profile: TargetProfile, control: ControlClient, tenant: str) -> None:
    """Wait (at most the slow window) until neither burn condition holds, then reset the
    tenant's error budget and resume its rollout if a tripwire paused it."""
    deadline = time.monotonic() + 21_600.0 / profile.time_scale + _QUIET_MARGIN_SECONDS
    while time.monotonic() < deadline:
        status = control.call("tripwires", "status", "--tenant", tenant)
        conditions = status.get("tenants", {}).get(tenant, {}) if isinstance(status, dict) else {}
        if not any(
            isinstance(conditions.get(name), dict) and conditions[name].get("holds")
            for name in BURN_TRIPWIRES.values()
        ):
            break
        time.sleep(max(profile.metrics.sample_interval_seconds, 0.2))
    control.call("slo", "reset-budget", "--tenant", tenant)
    if control.tenant_status(tenant).rollout.paused:
        control.call("rollout", "resume", "--tenant", tenant)


@given(parsers.parse("the error budget of tenant {tenant} is put back after this scenario"))
def burn_put_back(mc_burn_cleanup: list[str], tenant: str) -> None:
    mc_burn_cleanup.append(tenant)


@given(
    parsers.parse(
        "k6 keeps read-only traffic flowing on tenant {tenant} for {duration} of plan time"
    )
)
def background_reads(
    request: pytest.FixtureRequest,
    mc_k6: K6Driver,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: str,
    duration: str,
) -> None:
    """Background traffic that burns the error budget under the fault but writes nothing
    (writes to an active/active tenant conflict now and then and trip its conflict tripwire)."""
    plan_seconds = parse_duration(duration)
    load = K6Load.for_plan_duration(
        plan_seconds, time_scale=mc_evidence.time_scale, vus=BACKGROUND_VUS, write_share=0.0
    )
    log_wait(mc_evidence, f"background read-only k6 on {tenant}", plan_seconds)
    running = BackgroundLoad(mc_k6, tenant, load, tmp_path_factory.mktemp("k6"), mc_evidence.run_id)

    def finish() -> None:
        result = running.join(timeout=load.duration_seconds + 120)
        record_k6_run(mc_evidence, mc_context, tenant, result, label="read-only")

    request.addfinalizer(finish)
    time.sleep(K6_WARMUP_SECONDS)


@then(parsers.parse("within {deadline} autonomy on tenant {tenant} is halted by {qi_id}"))
def halted_by_burn(
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    mc_control: ControlClient,
    mc_pilot: PilotRun,
    deadline: str,
    tenant: str,
    qi_id: str,
) -> None:
    if qi_id not in BURN_TRIPWIRES:
        raise AssertionError(f"{qi_id!r} in the feature: write one of {list(BURN_TRIPWIRES)}")
    qi = mc_evidence.catalog.get(qi_id)
    report = mc_context.last_watch
    sighting = report.tripwires[qi.id]
    seen_at = sighting.condition_first_seen_at
    if seen_at is None:
        peak = "no samples" if sighting.peak_value is None else f"peak {sighting.peak_value:g}"
        raise AssertionError(
            f"tripwire {qi.id}: the burn never reached {qi.target:g} of the error budget in "
            f"its window on {tenant} ({peak}); the fault did not induce it"
        )
    halted_at = report.effects_first_seen_at.get("autonomy_halted")
    observation = mc_evidence.tripwire(
        qi.id,
        tenant=tenant,
        condition=f"{qi.id.removeprefix('tripwire_')} >= {qi.target:g} of the error budget "
        f"on {tenant}",
        condition_seen_at=seen_at,
        action_observed=qi.action if halted_at is not None else None,
        action_observed_at=halted_at,
        deadline_seconds=parse_duration(deadline),
    )
    assert observation.verdict == Verdict.PASS, (
        f"tripwire {qi.id}: expected {qi.action} within {deadline} of the burn on {tenant}; "
        f"mc_autonomy_halted "
        + ("never went to 1" if halted_at is None else f"went to 1 at {halted_at.isoformat()}")
    )
    events = mc_control.tripwire_events(tenant).events
    fired = [e for e in events if e.tripwire == BURN_TRIPWIRES[qi.id]]
    assert any(e.action == "halt_autonomy" for e in fired), (
        f"tripwire {qi.id}: the target's event log has no halt_autonomy for "
        f"{BURN_TRIPWIRES[qi.id]} on {tenant} (events: "
        f"{sorted({e.tripwire for e in events}) or 'none'})"
    )
    status = mc_pilot.driver.status(tenant)
    halted = status.halted and status.scope == "read-only" and not status.enactments_enabled
    assert halted, (
        f"tripwire {qi.id}: after the halt `autonomy status` of {tenant} says halted="
        f"{status.halted}, scope={status.scope}, enactments_enabled={status.enactments_enabled}; "
        "expected halted, read-only, enactments disabled"
    )


@then(parsers.parse("an approved enactment on tenant {tenant} is refused while autonomy is halted"))
def enactment_refused_while_halted(
    request: pytest.FixtureRequest, mc_pilot: PilotRun, mc_evidence: McEvidence, tenant: str
) -> None:
    simulate_derived_updates(mc_pilot, tenant)
    simulation = mc_pilot.last_simulation()
    token = approve(mc_pilot, mc_evidence, tenant, simulation).token
    enactment = enact(request, mc_pilot, mc_evidence, tenant, token, simulation)
    mc_pilot.enactment = enactment
    applied = enactment.record is not None and enactment.record.outcome == "succeeded"
    assert not applied, (
        f"tripwire: autonomy of {tenant} was halted by the burn, yet enactment "
        f"{enactment.record.enactment_id if enactment.record else '?'} was applied"
    )
    assert enactment.answer.exit_code == 1, (
        f"tripwire: an enactment on halted {tenant} was not refused by policy: "
        f"{enactment.answer.describe()}"
    )


@when(
    parsers.parse(
        "the approved simulation is enacted on tenant {tenant} during the "
        '"{experiment}" experiment on region {region} for {duration} of plan time'
    )
)
def enact_during_experiment(
    request: pytest.FixtureRequest,
    mc_evidence: McEvidence,
    mc_pilot: PilotRun,
    mc_chaos_step: ChaosStepRun,
    tenant: str,
    experiment: str,
    region: str,
    duration: str,
) -> None:
    approval = mc_pilot.approval
    if approval is None:
        raise AssertionError("autonomy: no approval in this scenario; approve first")
    simulation = mc_pilot.last_simulation()

    def enact_now() -> None:
        mc_pilot.enactment = enact(
            request, mc_pilot, mc_evidence, tenant, approval.token, simulation
        )

    result = run_chaos(
        mc_chaos_step, experiment, tenant, duration, region=region, while_injected=enact_now
    )
    method = [a for a in result.activities if a.phase == "method"]
    assert mc_pilot.enactment is not None, (
        f"autonomy §B.4: the {experiment!r} experiment injected nothing on {tenant} "
        f"(status {result.status}; method: "
        + (", ".join(f"{a.name} {a.status} {a.error or ''}".strip() for a in method) or "none")
        + "), so no enactment met the fault"
    )


ENACTMENT_ABORTS = {
    "tripwire_risk_anomaly": "risk_anomaly",
    "tripwire_residency_denial": "residency_denial",
}


def _abort_condition(
    qi_id: str, record: EnactmentRecord, tenant: str, placement: tuple[str, ...]
) -> str:
    if qi_id == "tripwire_residency_denial":
        outside = [r for r in record.regions if r not in placement] or ["none"]
        return (
            f"the enactment on {tenant} was to write to {', '.join(record.regions)}; "
            f"outside its placement: {', '.join(outside)}"
        )
    return (
        f"risk score {record.risk_score_simulated} at simulation, "
        f"{record.risk_score_at_enact} at enactment on {tenant}"
    )


@then(parsers.parse("within {deadline} the enactment on tenant {tenant} is aborted by {qi_id}"))
def aborted_by_tripwire(
    mc_evidence: McEvidence, mc_pilot: PilotRun, deadline: str, tenant: str, qi_id: str
) -> None:
    if qi_id not in ENACTMENT_ABORTS:
        raise AssertionError(
            f"autonomy: {qi_id} does not abort enactments; use one of {', '.join(ENACTMENT_ABORTS)}"
        )
    enactment = mc_pilot.last_enactment()
    record = enactment.record
    assert record is not None, (
        f"tripwire {qi_id}: the enactment on {tenant} wrote no record "
        f"({enactment.answer.describe()}); an aborted enactment must still be audited"
    )
    aborted = record.outcome == "aborted" and record.abort_reason == ENACTMENT_ABORTS[qi_id]
    qi = mc_evidence.catalog.get(qi_id)
    condition = _abort_condition(qi_id, record, tenant, mc_pilot.regions(tenant))
    observation = mc_evidence.tripwire(
        qi.id,
        tenant=tenant,
        condition=condition,
        condition_seen_at=datetime.fromtimestamp(record.started_at, UTC),
        action_observed=qi.action if aborted else None,
        action_observed_at=datetime.fromtimestamp(record.finished_at, UTC) if aborted else None,
        deadline_seconds=parse_duration(deadline),
    )
    assert observation.verdict == Verdict.PASS, (
        f"tripwire {qi.id}: expected {qi.action} within {deadline} on {tenant}; the enactment "
        f"{record.enactment_id} ended {record.outcome} ({record.abort_reason}), {condition}"
    )
