"""Autonomy pilot steps (plan §B.1, §B.3, §B.5): tiers, scope, the runbook, tokens, backout.

Every step drives the target's control CLI through `AutonomyDriver` and judges the effect on
the tenant's data through the data plane (`DerivedDataReader`): an enactment worked when the
derived rows every region serves match what their base implies, not when the command said so.
Each enactment's audit record is attached and recorded (`enactment_audit`) and checked
against the target's own audit log; every enactment the suite started (the driver's ledger,
not the target's answers) is reconciled with that log at the end of a scenario. Every tenant
whose autonomy a scenario changed is put back as the scenario found it.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from hashlib import sha256

import pytest
from pytest_bdd import given, parsers, then, when

from pytest_mc.drivers.autonomy import (
    DERIVED_UPDATES,
    AutonomyDriver,
    Enactment,
    Simulation,
    reconcile_audit,
)
from pytest_mc.drivers.autonomy_models import Approval, AuditLog, AutonomyStatus
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.derived_data import DerivedDataReader, change_base, derive
from pytest_mc.evidence.records import EnactmentAudit
from pytest_mc.fixtures import McEvidence
from pytest_mc.metrics.source import MetricQuery, MetricSource
from pytest_mc.session import SESSION_KEY
from pytest_mc.steps.context import ScenarioState
from pytest_mc.target.profile import TargetProfile

# Bad approval tokens of the feature → the refusal reason label of the target's counter.
TOKEN_KINDS = {
    "missing": "missing",
    "forged": "forged",
    "expired": "expired",
    "replayed": "replayed",
    "wrong-tenant": "wrong_tenant",
    "wrong-simulation": "wrong_simulation",
}
# Keys the pilot's scenarios write: one category, a bounded set of keys.
PILOT_KEYS = 8
_EXPIRED_TTL_SECONDS = 0.5
_WHOLE_LOG = 1_000_000  # the contract's largest --limit: reconciling needs every record
_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

Derived = dict[str, dict[str, str]]


@dataclass(repr=False)
class PilotRun(ScenarioState):
    """One scenario's autonomy state: the driver, the data reader and what the steps did."""

    profile: TargetProfile
    driver: AutonomyDriver
    reader: DerivedDataReader
    found: dict[str, AutonomyStatus] = field(default_factory=dict)
    simulation: Simulation | None = None
    approval: Approval | None = None
    enactment: Enactment | None = None
    derived_before_enactment: Derived | None = None
    refusals_before: float = 0.0
    ledger_start: int = 0  # the driver's ledger before this scenario's first enactment

    def regions(self, tenant: str) -> tuple[str, ...]:
        return self.profile.tenant(tenant).regions

    def remember(self, tenant: str) -> None:
        """Note the tenant's autonomy before a step changes it, so teardown can put it back."""
        if tenant not in self.found:
            self.found[tenant] = self.driver.status(tenant)

    def derived(self, tenant: str) -> Derived:
        return self.reader.derived_everywhere(tenant, self.regions(tenant))

    def last_simulation(self) -> Simulation:
        if self.simulation is None or self.simulation.record is None:
            raise AssertionError("autonomy: no simulation record in this scenario; simulate first")
        return self.simulation

    def last_enactment(self) -> Enactment:
        if self.enactment is None:
            raise AssertionError("autonomy: no enactment was attempted in this scenario")
        return self.enactment

    def restore(self) -> None:
        for tenant, before in self.found.items():
            answer, _ = self.driver.set(
                tenant, before.tier, scope=before.scope, require_hitl=before.require_hitl
            )
            if not answer.done:
                raise AssertionError(
                    f"autonomy: could not put {tenant} back at {before.tier}: {answer.describe()}"
                )


@pytest.fixture(scope="session")
def mc_autonomy(
    mc_control: ControlClient, tmp_path_factory: pytest.TempPathFactory
) -> AutonomyDriver:
    """The autonomy runbook of the target; simulation and enactment records in a temp dir."""
    return AutonomyDriver(mc_control, tmp_path_factory.mktemp("autonomy"))


@pytest.fixture
def mc_pilot(mc_profile: TargetProfile, mc_autonomy: AutonomyDriver) -> Iterator[PilotRun]:
    """A scenario's autonomy state; autonomy is put back as found when the scenario ends."""
    with DerivedDataReader(mc_profile) as reader:
        run = PilotRun(
            profile=mc_profile,
            driver=mc_autonomy,
            reader=reader,
            ledger_start=len(mc_autonomy.ledger),
        )
        try:
            yield run
        finally:
            run.restore()


def pilot_tenant(profile: TargetProfile, tenant: str) -> None:
    """Fail unless the profile names `tenant` as the autonomy pilot."""
    try:
        entry = profile.tenant(tenant)
    except KeyError as exc:
        raise AssertionError(str(exc.args[0])) from None
    if not entry.autonomy_pilot:
        pilots = [t.id for t in profile.tenants if t.autonomy_pilot] or ["none"]
        raise AssertionError(
            f"tenant {tenant} is not the autonomy pilot of profile {profile.name!r} "
            f"(pilot: {', '.join(pilots)}); fix the feature's examples or the profile"
        )


def set_pilot_tier(run: PilotRun, tenant: str) -> None:
    run.remember(tenant)
    answer, _ = run.driver.set(tenant, "T3", scope="read-only", require_hitl=True)
    assert answer.done, (
        f"autonomy §B.1: the target refused T3, read-only, HITL for the pilot {tenant}: "
        f"{answer.describe()}"
    )


# -- arrange ----------------------------------------------------------------------------------


@given(
    parsers.parse("the autonomy pilot runs on tenant {tenant} at tier T3, read-only, with HITL"),
    target_fixture="tenant",
)
def pilot_at_t3(mc_profile: TargetProfile, mc_pilot: PilotRun, tenant: str) -> str:
    pilot_tenant(mc_profile, tenant)
    set_pilot_tier(mc_pilot, tenant)
    return tenant


@given(parsers.parse("the base data of tenant {tenant} changed in every region"))
def base_changed(mc_pilot: PilotRun, tenant: str) -> None:
    key = f"pilot:{secrets.randbelow(PILOT_KEYS)}"
    change_base(
        mc_pilot.reader, tenant, mc_pilot.regions(tenant), key=key, derived_must_change=True
    )


# -- configuration (§B.1, §B.5) ---------------------------------------------------------------


@when(
    parsers.parse(
        "autonomy of tenant {tenant} is set to tier T3, scope read-only, with HITL required"
    )
)
def set_t3(mc_profile: TargetProfile, mc_pilot: PilotRun, tenant: str) -> None:
    pilot_tenant(mc_profile, tenant)
    set_pilot_tier(mc_pilot, tenant)


@when(parsers.parse("autonomy of tenant {tenant} is downgraded to tier T2"))
def downgrade_t2(mc_pilot: PilotRun, tenant: str) -> None:
    mc_pilot.remember(tenant)
    answer, _ = mc_pilot.driver.set(tenant, "T2")
    assert answer.done, (
        f"autonomy §B.5: the downgrade of {tenant} to T2 failed: {answer.describe()}"
    )


@when(parsers.parse("an operator overrides autonomy on tenant {tenant}"))
def operator_override(mc_pilot: PilotRun, tenant: str) -> None:
    mc_pilot.remember(tenant)
    answer, _ = mc_pilot.driver.abort(tenant, "HITL override in a pilot scenario")
    assert answer.done, f"autonomy §B.1: the HITL override of {tenant} failed: {answer.describe()}"


def _expect_t3_refused(
    run: PilotRun, tenant: str, *, scope: str, require_hitl: bool, why: str
) -> None:
    run.remember(tenant)
    answer, _ = run.driver.set(tenant, "T3", scope=scope, require_hitl=require_hitl)
    assert answer.exit_code == 1, (
        f"autonomy §B.1: T3 {why} for {tenant} was not refused by policy: {answer.describe()}"
    )


@then(parsers.parse("the target refuses tier T3 for tenant {tenant} with scope read-write"))
def t3_read_write_refused(mc_pilot: PilotRun, tenant: str) -> None:
    _expect_t3_refused(
        mc_pilot, tenant, scope="read-write", require_hitl=True, why="with scope read-write"
    )


@then(parsers.parse("the target refuses tier T3 for tenant {tenant} without HITL"))
def t3_without_hitl_refused(mc_pilot: PilotRun, tenant: str) -> None:
    _expect_t3_refused(mc_pilot, tenant, scope="read-only", require_hitl=False, why="without HITL")


@then("the target refuses tier T3 for every tenant of the profile that is not the pilot")
def t3_refused_for_others(mc_profile: TargetProfile, mc_pilot: PilotRun) -> None:
    others = [t.id for t in mc_profile.tenants if not t.autonomy_pilot]
    assert others, "autonomy §B.1: the profile has no tenant besides the pilot to check"
    for other in others:
        _expect_t3_refused(
            mc_pilot, other, scope="read-only", require_hitl=True, why="outside the pilot"
        )


@then(parsers.parse("an enactment on tenant {tenant} without an approval token is refused"))
def enact_without_token_refused(
    request: pytest.FixtureRequest, mc_pilot: PilotRun, mc_evidence: McEvidence, tenant: str
) -> None:
    simulate_derived_updates(mc_pilot, tenant)
    enactment = enact(request, mc_pilot, mc_evidence, tenant, None, mc_pilot.last_simulation())
    mc_pilot.enactment = enactment
    applied = enactment.record is not None and enactment.record.outcome == "succeeded"
    ok = enactment.answer.exit_code == 2 and not applied
    assert ok, (
        f"autonomy §B.1 HITL: an enactment on {tenant} without an approval token was not "
        f"refused: {enactment.answer.describe()}"
    )
    derived_unchanged(mc_pilot, tenant)


# -- the runbook (§B.3) -----------------------------------------------------------------------


@when(parsers.parse("the derived updates of tenant {tenant} are simulated"))
def simulate_derived_updates(mc_pilot: PilotRun, tenant: str) -> None:
    mc_pilot.simulation = mc_pilot.driver.simulate(tenant, DERIVED_UPDATES)
    assert mc_pilot.simulation.answer.done, (
        f"autonomy §B.3: simulation of {DERIVED_UPDATES} on {tenant} failed: "
        f"{mc_pilot.simulation.answer.describe()}"
    )


@when(parsers.parse('the "{op_set}" op-set is simulated on tenant {tenant}'))
def simulate_op_set(mc_pilot: PilotRun, tenant: str, op_set: str) -> None:
    mc_pilot.simulation = mc_pilot.driver.simulate(tenant, op_set)


@then("the target refused the op-set by policy and produced no simulation record")
def op_set_refused(mc_pilot: PilotRun) -> None:
    simulation = mc_pilot.simulation
    assert simulation is not None, "autonomy: no simulation was attempted in this scenario"
    ok = simulation.answer.exit_code == 1 and simulation.record is None
    assert ok, (
        f"autonomy §B.1 scope: an op-set outside the read-only scope was not refused by "
        f"policy: {simulation.answer.describe()}"
        + (f", record {simulation.record.simulation_id}" if simulation.record else "")
    )


def approve(
    run: PilotRun, mc_evidence: McEvidence, tenant: str, simulation: Simulation, **kw: float
) -> Approval:
    answer, approval = run.driver.approve(simulation, **kw)
    assert approval is not None, (
        f"autonomy §B.3: HITL approval on {tenant} failed: {answer.describe()}"
    )
    mc_evidence.register_secret(approval.token)
    return approval


@when(parsers.parse("a human approves the simulation of tenant {tenant}"))
def human_approves(mc_pilot: PilotRun, mc_evidence: McEvidence, tenant: str) -> None:
    mc_pilot.approval = approve(mc_pilot, mc_evidence, tenant, mc_pilot.last_simulation())


def enact(
    request: pytest.FixtureRequest,
    run: PilotRun,
    mc_evidence: McEvidence,
    tenant: str,
    token: str | None,
    simulation: Simulation,
) -> Enactment:
    """Enact, keeping the derived rows read just before; audit every record it wrote."""
    run.derived_before_enactment = run.derived(tenant)
    enactment = run.driver.enact(tenant, token, simulation.path)
    if enactment.record is not None:
        record_audit(request, mc_evidence, enactment, simulation)
    return enactment


def record_audit(
    request: pytest.FixtureRequest,
    mc_evidence: McEvidence,
    enactment: Enactment,
    simulation: Simulation,
) -> EnactmentAudit:
    """Attach the target's audit record and record its `enactment_audit` in the chain."""
    record = enactment.record
    assert record is not None
    sim = simulation.record
    mc_evidence.attach(
        enactment.path, name=f"{record.enactment_id}.json", kind="json", tenant=record.tenant
    )
    audit = EnactmentAudit(
        tenant=record.tenant,
        nodeid=request.node.nodeid,
        enactment_id=record.enactment_id,
        op_set=record.op_set,
        tier=sim.tier if sim else "unknown",
        scope=sim.scope if sim else "unknown",
        simulation_digest=record.simulation_digest,
        approval_fingerprint=record.approval.token_fingerprint if record.approval else None,
        outcome="enacted" if record.outcome == "succeeded" else "aborted",
        changes=len(record.applied_changes),
        detail=record.abort_reason,
    )
    request.config.stash[SESSION_KEY].recorder.record(audit)
    return audit


@when(parsers.parse("the approved simulation is enacted on tenant {tenant}"))
def enact_approved(
    request: pytest.FixtureRequest, mc_pilot: PilotRun, mc_evidence: McEvidence, tenant: str
) -> None:
    if mc_pilot.approval is None:
        raise AssertionError("autonomy: no approval in this scenario; approve first")
    mc_pilot.enactment = enact(
        request, mc_pilot, mc_evidence, tenant, mc_pilot.approval.token, mc_pilot.last_simulation()
    )


@then(parsers.parse("the enactment on tenant {tenant} succeeded"))
def enactment_succeeded(mc_pilot: PilotRun, tenant: str) -> None:
    enactment = mc_pilot.last_enactment()
    record = enactment.record
    ok = enactment.answer.done and record is not None and record.outcome == "succeeded"
    assert ok, (
        f"autonomy §B.3: the enactment on {tenant} did not succeed: {enactment.answer.describe()}"
        + (f", outcome {record.outcome} ({record.abort_reason})" if record else ", no record")
    )


@then(parsers.parse("the enactment on tenant {tenant} is refused by policy"))
def enactment_refused_by_policy(mc_pilot: PilotRun, tenant: str) -> None:
    enactment = mc_pilot.last_enactment()
    applied = enactment.record is not None and enactment.record.outcome == "succeeded"
    ok = enactment.answer.exit_code == 1 and not applied
    assert ok, (
        f"autonomy: an enactment on {tenant} that policy must refuse was not refused: "
        f"{enactment.answer.describe()}"
        + (
            f", record {enactment.record.enactment_id} {enactment.record.outcome}"
            if enactment.record
            else ""
        )
    )


@then(parsers.parse("the derived data of tenant {tenant} matches its base in every region"))
def derived_matches_base(mc_pilot: PilotRun, tenant: str) -> None:
    checks = mc_pilot.reader.check(tenant, mc_pilot.regions(tenant))
    wrong = [check.describe() for check in checks if not check.correct]
    assert not wrong, (
        f"autonomy §B.3: after the enactment the derived data of {tenant} does not match its "
        f"base: {'; '.join(wrong)}"
    )


@then(parsers.parse("the derived data of tenant {tenant} is unchanged by the refused enactment"))
def derived_unchanged(mc_pilot: PilotRun, tenant: str) -> None:
    before = mc_pilot.derived_before_enactment
    assert before is not None, "autonomy: no enactment was attempted in this scenario"
    after = mc_pilot.derived(tenant)
    changed = changed_rows(before, after)
    assert not changed, (
        f"autonomy: a refused enactment changed the derived data of {tenant}: {changed}"
    )


@then("the enactment audit record is attached and matches the target's audit log")
def audit_matches_log(mc_control: ControlClient, mc_pilot: PilotRun) -> None:
    enactment = mc_pilot.last_enactment()
    record = enactment.record
    assert record is not None, (
        f"autonomy §B.1 audit: the enactment wrote no audit record ({enactment.answer.describe()})"
    )
    approval = mc_pilot.approval
    assert approval is not None, "autonomy: no approval in this scenario; approve first"
    assert record.approval is not None, (
        f"autonomy §B.1 audit: enactment {record.enactment_id} names no approval"
    )
    text = enactment.path.read_text()
    assert approval.token not in text, (
        f"autonomy §B.1 audit: enactment record {record.enactment_id} contains the approval token"
    )
    fingerprint = record.approval.token_fingerprint
    same_token = bool(fingerprint) and sha256(approval.token.encode()).hexdigest().startswith(
        fingerprint
    )
    assert same_token, (
        f"autonomy §B.1 audit: enactment {record.enactment_id} refers to token "
        f"{record.approval.token_id} (fingerprint {fingerprint}), not the approval given for "
        f"simulation {approval.simulation_id}"
    )
    log = mc_control.parsed(
        AuditLog, "provenance", "log", "--tenant", record.tenant, "--limit", "500"
    )
    assert log.chain_valid, (
        f"autonomy §B.1 audit: the target's audit log is broken at seq {log.first_broken_seq}"
    )
    entries = [
        e
        for e in log.records
        if e.action == "autonomy.enact" and e.details.get("enactment_id") == record.enactment_id
    ]
    assert len(entries) == 1, (
        f"autonomy §B.1 audit: the target's audit log has {len(entries)} records of enactment "
        f"{record.enactment_id}, expected exactly 1"
    )
    logged = entries[0].details
    ok = logged.get("digest") == record.digest and logged.get("outcome") == record.outcome
    assert ok, (
        f"autonomy §B.1 audit: the audit log says {logged.get('outcome')!r} "
        f"digest {str(logged.get('digest'))[:12]}…, the record {record.outcome!r} "
        f"digest {record.digest[:12]}…"
    )


@then(
    parsers.parse(
        "every enactment the suite started on tenant {tenant} has exactly one matching audit record"
    )
)
def enactments_reconciled(
    mc_control: ControlClient, mc_evidence: McEvidence, mc_pilot: PilotRun, tenant: str
) -> None:
    """The suite's ledger of this scenario's enactments (applied, aborted, refused) against
    the target's audit log: one `autonomy.enact` record each, same ids and outcome."""
    attempts = [a for a in mc_pilot.driver.ledger[mc_pilot.ledger_start :] if a.tenant == tenant]
    assert attempts, (
        f"autonomy audit: this scenario started no enactment on {tenant}; there is nothing to "
        "reconcile (the step belongs after an enactment)"
    )
    log = mc_control.parsed(
        AuditLog, "provenance", "log", "--tenant", tenant, "--limit", str(_WHOLE_LOG)
    )
    problems = reconcile_audit(attempts, log.records)
    ledger = [
        {
            "op_id": a.op_id,
            "outcome": a.outcome,
            "exit_code": a.exit_code,
            "enactment_id": a.enactment_id,
            "token_fingerprint": a.token_sha256[:16] if a.token_sha256 else None,
        }
        for a in attempts
    ]
    mc_evidence.attach(
        json.dumps({"ledger": ledger, "problems": problems}, indent=2).encode(),
        name=f"enactment-ledger-{tenant}.json",
        kind="json",
        tenant=tenant,
    )
    assert log.chain_valid, (
        f"autonomy audit: the target's audit log is broken at seq {log.first_broken_seq}"
    )
    assert not problems, (
        f"autonomy audit: {len(problems)} of {len(attempts)} enactments the suite started on "
        f"{tenant} have no single matching audit record in the target's log: "
        + "; ".join(problems[:3])
    )


# -- approval tokens (§B.1) -------------------------------------------------------------------


@when(
    parsers.parse("the simulation of tenant {tenant} is enacted with a {token_kind} approval token")
)
def enact_with_bad_token(
    request: pytest.FixtureRequest,
    mc_pilot: PilotRun,
    mc_evidence: McEvidence,
    mc_metrics: MetricSource,
    tenant: str,
    token_kind: str,
) -> None:
    if token_kind not in TOKEN_KINDS:
        raise AssertionError(
            f"unknown token kind {token_kind!r} in the feature; write one of {list(TOKEN_KINDS)}"
        )
    simulation = mc_pilot.last_simulation()
    token: str | None = None
    if token_kind == "forged":
        token = forged(approve(mc_pilot, mc_evidence, tenant, simulation).token)
        mc_evidence.register_secret(token)
    elif token_kind == "expired":
        token = approve(
            mc_pilot, mc_evidence, tenant, simulation, ttl_seconds=_EXPIRED_TTL_SECONDS
        ).token
        # the target minted it before `approve` returned: a full TTL from now is past its expiry
        time.sleep(_EXPIRED_TTL_SECONDS + 0.3)
    elif token_kind == "replayed":
        token = approve(mc_pilot, mc_evidence, tenant, simulation).token
        first = enact(request, mc_pilot, mc_evidence, tenant, token, simulation)
        assert first.answer.done, (
            f"autonomy: the first use of a fresh token failed ({first.answer.describe()}); "
            "the replay cannot be tested"
        )
    elif token_kind == "wrong-tenant":
        token = other_tenants_token(mc_pilot, mc_evidence, tenant)
    elif token_kind == "wrong-simulation":
        token = approve(mc_pilot, mc_evidence, tenant, simulation).token
        simulate_derived_updates(mc_pilot, tenant)
        simulation = mc_pilot.last_simulation()
    mc_pilot.refusals_before = token_refusals(mc_metrics, tenant, TOKEN_KINDS[token_kind])
    mc_pilot.enactment = enact(request, mc_pilot, mc_evidence, tenant, token, simulation)


@then(parsers.parse("the enactment is refused for a {token_kind} token and counted by the target"))
def refused_for_token(
    mc_pilot: PilotRun, mc_metrics: MetricSource, tenant: str, token_kind: str
) -> None:
    enactment = mc_pilot.last_enactment()
    applied = enactment.record is not None and enactment.record.outcome == "succeeded"
    ok = enactment.answer.exit_code == 2 and not applied
    assert ok, (
        f"autonomy §B.1 approval token: an enactment with a {token_kind} token was not refused "
        f"as bad input: {enactment.answer.describe()}"
        + (f", outcome {enactment.record.outcome}" if enactment.record else "")
    )
    reason = TOKEN_KINDS[token_kind]
    after = token_refusals(mc_metrics, tenant, reason)
    assert after - mc_pilot.refusals_before == 1, (
        f"autonomy §B.1 approval token: mc_autonomy_token_refusals_total{{reason={reason!r}}} "
        f"of {tenant} went from {mc_pilot.refusals_before:g} to {after:g}; the target did not "
        f"refuse it as {reason}"
    )


def token_refusals(source: MetricSource, tenant: str, reason: str) -> float:
    query = MetricQuery.of(
        "mc_autonomy_token_refusals_total", aggregation="sum", tenant=tenant, reason=reason
    )
    return source.sample(query).single() or 0.0


def forged(token: str) -> str:
    """The token with one character of its signature (its last segment) changed."""
    head, _, signature = token.rpartition(".")
    if not signature:
        head, signature = "", token
    index = len(signature) // 2
    replacement = next(c for c in _BASE64URL if c != signature[index])
    changed = signature[:index] + replacement + signature[index + 1 :]
    return f"{head}.{changed}" if head else changed


def other_tenants_token(run: PilotRun, mc_evidence: McEvidence, pilot: str) -> str:
    """A valid token minted for another tenant's simulation (T1 there: simulate only)."""
    other = next((t.id for t in run.profile.tenants if t.id != pilot), None)
    if other is None:
        raise AssertionError("autonomy: the profile has no second tenant to mint a token for")
    run.remember(other)
    answer, _ = run.driver.set(other, "T1")
    assert answer.done, (
        f"autonomy: could not set {other} to T1 (simulate only): {answer.describe()}"
    )
    simulation = run.driver.simulate(other, DERIVED_UPDATES)
    assert simulation.answer.done, (
        f"autonomy: simulation on {other} failed: {simulation.answer.describe()}"
    )
    return approve(run, mc_evidence, other, simulation).token


# -- compensation (§B.3) ----------------------------------------------------------------------


@when(parsers.parse("the enactment on tenant {tenant} is compensated"))
def compensate(mc_pilot: PilotRun, mc_evidence: McEvidence, tenant: str) -> None:
    enactment = mc_pilot.last_enactment()
    compensation = mc_pilot.driver.compensate(tenant, enactment.path)
    assert compensation.record is not None, (
        f"autonomy §B.3 compensation on {tenant} failed: {compensation.answer.describe()}"
    )
    mc_evidence.attach(
        compensation.path,
        name=f"compensation-{compensation.record.enactment_id}.json",
        kind="json",
        tenant=tenant,
    )


@then(
    parsers.parse("the derived data of tenant {tenant} is back to what it was before the enactment")
)
def derived_restored(mc_pilot: PilotRun, tenant: str) -> None:
    before = mc_pilot.derived_before_enactment
    assert before is not None, "autonomy: no enactment was attempted in this scenario"
    record = mc_pilot.last_enactment().record
    applied = len(record.applied_changes) if record else 0
    assert applied, (
        f"autonomy: the enactment on {tenant} changed nothing, so its compensation proves "
        "nothing; the scenario must change the base data first"
    )
    changed = changed_rows(before, mc_pilot.derived(tenant))
    assert not changed, (
        f"autonomy §B.3 compensation: the derived data of {tenant} is not what it was before "
        f"the enactment: {changed}"
    )


@then(
    parsers.parse("the simulation of tenant {tenant} predicted the derived data its base implies")
)
def simulation_predicts_base(mc_pilot: PilotRun, tenant: str) -> None:
    record = mc_pilot.last_simulation().record
    assert record is not None
    predicted: dict[str, str | None] = dict(record.derived_before)
    for change in record.predicted_changes:
        predicted[change.name] = change.after
    expected = derive(mc_pilot.reader.base_entities(tenant, record.source_region))
    wrong = sorted(
        n for n in set(predicted) | set(expected) if (predicted.get(n) or None) != expected.get(n)
    )
    assert not wrong, (
        f"autonomy §B.5 simulator: the simulation on {tenant} predicts rows the base of "
        f"{record.source_region} does not imply: "
        + ", ".join(f"{n}: {predicted.get(n)!r} vs {expected.get(n)!r}" for n in wrong[:4])
    )


def changed_rows(before: Derived, after: Derived) -> list[str]:
    """Every derived row that differs between two reads, as `region name: old → new`."""
    changed = []
    for region in sorted(set(before) | set(after)):
        old, new = before.get(region, {}), after.get(region, {})
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                changed.append(f"{region} {name}: {old.get(name)!r} → {new.get(name)!r}")
    return changed
