"""The plan's wave order (§A.2): a tenant of a wave starts only when every tenant of an earlier
wave reached GA green in the evidence.

The evidence is the chain of the output directory, which keeps every run's records: wave A may
have rolled out in a run of last week and wave B start today. What counts for an earlier tenant
is the **latest attempt** of each of its scenarios: a rollout that failed in a run before and
passed since is green, one whose latest attempt failed (or never finished) is not. A record the
bake writes without a scenario id belongs to the tenant's scenario that was open when it was
written, so a soak slice judged in an earlier, failed attempt does not block a later one.

`wave_blockers` is pure (records in, reasons out) so it is tested on chains built for the
purpose; the rollout scenario's Given step turns its answer into the failure message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pytest_mc.dod.items import GA_SOAK_QI, STREAK_QI
from pytest_mc.drivers.gates import VALIDATION_GATES
from pytest_mc.evidence.records import DayVerdict, Measurement, ScenarioFinished, ScenarioStarted
from pytest_mc.evidence.streak import compute_streak
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Verdict, judge

WAVE_ORDER = {"ga": 0, "A": 1, "B": 2}


@dataclass(frozen=True)
class WaveBlocker:
    """Why an earlier tenant keeps the next wave from starting."""

    tenant: str
    reason: str


@dataclass
class _Attempt:
    """One attempt of a scenario: the measurements it recorded and how it finished."""

    nodeid: str
    measurements: list[Measurement]
    finished: ScenarioFinished | None = None


def earlier_wave_tenants(waves: Mapping[str, str], tenant: str) -> list[str]:
    """The tenants (id → wave) of an expansion wave earlier than `tenant`'s; GA tenants are
    already at GA and never block."""
    wave = waves[tenant]
    return [
        other
        for other, other_wave in waves.items()
        if other_wave != "ga" and WAVE_ORDER[other_wave] < WAVE_ORDER[wave]
    ]


def latest_attempts(bodies: Iterable[object], tenant: str) -> list[_Attempt]:
    """The tenant's scenarios, each as its latest attempt in the chain (chain order)."""
    latest: dict[str, _Attempt] = {}
    open_nodeid: str | None = None
    for body in bodies:
        if isinstance(body, ScenarioStarted) and body.tenant == tenant:
            latest[body.nodeid] = _Attempt(body.nodeid, [])
            open_nodeid = body.nodeid
        elif isinstance(body, ScenarioFinished) and body.tenant == tenant:
            attempt = latest.setdefault(body.nodeid, _Attempt(body.nodeid, []))
            attempt.finished = body
            if open_nodeid == body.nodeid:
                open_nodeid = None
        elif isinstance(body, Measurement) and body.tenant == tenant:
            owner = body.nodeid if body.nodeid is not None else open_nodeid
            if owner is not None and owner in latest:
                latest[owner].measurements.append(body)
    return list(latest.values())


def tenant_not_green(bodies: Sequence[object], tenant: str, catalog: QiCatalog) -> str | None:
    """Why `tenant` has not reached GA green in these chain bodies (None: it has)."""
    attempts = latest_attempts(bodies, tenant)
    for attempt in attempts:
        if attempt.finished is None:
            return f"its scenario {attempt.nodeid} never finished"
        if attempt.finished.outcome != "passed":
            return f"the latest attempt of {attempt.nodeid} {attempt.finished.outcome}"
    measured = [m for attempt in attempts for m in attempt.measurements]
    soak = [m for m in measured if m.qi_id == GA_SOAK_QI]
    if not soak:
        return "no GA soak is recorded for it"
    if any(m.verdict != Verdict.PASS for m in soak):
        return "its GA soak did not pass"
    # Stage gates pass or their scenario failed. The GA soak's slices also judge the gates, and
    # a slice's conflict rate rests on too few writes to be more than inconclusive: what must
    # not be there is a failed gate.
    failed_gates = sorted(
        {m.qi_id for m in measured if m.qi_id in VALIDATION_GATES and m.verdict == Verdict.FAIL}
    )
    if failed_gates:
        return f"gate(s) {', '.join(failed_gates)} failed in its latest attempt"
    days = [b for b in bodies if isinstance(b, DayVerdict) and b.tenant == tenant]
    streak = compute_streak(tenant, days)
    needed = catalog.get(STREAK_QI)
    if judge(needed, streak.current_days, samples=streak.days_judged).verdict != Verdict.PASS:
        return (
            f"it has been green for {streak.current_days} consecutive day(s), the plan needs "
            f"{needed.target:g} before expansion"
        )
    return None


def wave_blockers(
    bodies: Sequence[object], waves: Mapping[str, str], tenant: str, catalog: QiCatalog
) -> list[WaveBlocker]:
    """Every earlier-wave tenant that keeps `tenant` from starting, with its reason."""
    blockers = []
    for other in earlier_wave_tenants(waves, tenant):
        reason = tenant_not_green(bodies, other, catalog)
        if reason is not None:
            blockers.append(WaveBlocker(other, reason))
    return blockers
