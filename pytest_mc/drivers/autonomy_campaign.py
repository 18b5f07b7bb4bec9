"""A campaign of autonomy cycles for the plan's §B.2 KPIs.

One cycle: change the tenant's base data, simulate `derived_updates`, approve, enact, then
judge the result with the suite's own derived-data check; compensate where the enactment left
the derived data wrong (and check the compensation against the rows read before). Into a
spread-out share of the cycles the `derived-drift` fault is injected between simulation and
enactment, exactly as `chaos/derived-data-drift.json` injects it (same provider, same fault),
and removed after the cycle: there the target must abort with reason `drift` and leave the
rows alone. Every change a cycle makes (base writes, autonomy commands, the fault) passes the
safety fence of the client it goes through.

Per cycle (docs/autonomy.md):
  success          the derived data ended right: enacted and independently correct without
                   compensation, or (drift cycles) aborted for drift with the rows untouched
  compensation     the cycle had to be compensated
  false negative   the simulation said safe (it produced a record) and the enactment then
                   needed compensation, was flagged as not matching its simulation, or the
                   independent check found the derived data wrong
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.drivers.autonomy import DERIVED_UPDATES, AutonomyDriver, Simulation
from pytest_mc.drivers.chaos_target import FaultApi
from pytest_mc.drivers.derived_data import DerivedDataReader, change_base
from pytest_mc.errors import ProfileError
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Ratio, judge
from pytest_mc.target.profile import TargetProfile

_STRICT = ConfigDict(extra="forbid", frozen=True)
DRIFT_FAULT = "derived-drift"
KPI_QIS = ("autonomy_success_rate", "compensation_rate", "sim_false_negative_rate")
CAMPAIGN_KEYS = 8


class Cycle(BaseModel):
    """What one autonomy cycle did and how the suite judged it."""

    model_config = _STRICT
    index: int = Field(ge=0)
    drift_injected: bool
    simulated: bool
    enact_exit: int | None = None
    enactment_id: str | None = None
    simulation_digest: str | None = None
    approval_fingerprint: str | None = Field(
        default=None, description="the audit's reference to the token, never the token"
    )
    changes: int = Field(default=0, ge=0)
    outcome: str | None = Field(default=None, description="succeeded | aborted | refused")
    abort_reason: str | None = None
    matches_simulation: bool | None = None
    derived_correct: bool | None = Field(
        default=None, description="the suite's own check after a succeeded enactment"
    )
    compensated: bool = False
    compensation_restored: bool | None = None
    success: bool
    false_negative: bool
    detail: str = ""
    wall_seconds: float = Field(ge=0)


class CampaignResult(BaseModel):
    """Every cycle of one campaign, and the counts behind the §B.2 KPIs."""

    model_config = _STRICT
    tenant: str
    channel: str = Field(description="what carried the cycles' commands: control CLI or API")
    drift_share: float
    started_at: float
    finished_at: float
    cycles: tuple[Cycle, ...]

    @property
    def trials(self) -> int:
        return len(self.cycles)

    @property
    def successes(self) -> Ratio:
        return Ratio(events=sum(c.success for c in self.cycles), trials=self.trials)

    @property
    def compensations(self) -> Ratio:
        return Ratio(events=sum(c.compensated for c in self.cycles), trials=self.trials)

    @property
    def false_negatives(self) -> Ratio:
        simulated = [c for c in self.cycles if c.simulated]
        return Ratio(events=sum(c.false_negative for c in simulated), trials=len(simulated))

    @property
    def drift_cycles(self) -> int:
        return sum(c.drift_injected for c in self.cycles)

    def cycles_per_second(self) -> float:
        elapsed = self.finished_at - self.started_at
        return self.trials / elapsed if elapsed > 0 else 0.0

    def failures(self, limit: int = 3) -> tuple[Cycle, ...]:
        return tuple(c for c in self.cycles if not c.success or c.false_negative)[:limit]


def cycles_for_conclusive_kpis(catalog: QiCatalog) -> int:
    """The fewest clean cycles after which every §B.2 rate KPI can pass at its confidence."""
    needed = []
    for qi_id in KPI_QIS:
        more = judge(catalog.get(qi_id), Ratio(events=0, trials=0)).more_trials_needed
        if more is None:
            raise ProfileError(f"QI {qi_id} can never pass with clean trials; check the catalog")
        needed.append(more)
    return max(needed)


def drift_cycles(cycles: int, share: float) -> frozenset[int]:
    """Which cycles get drift: `share` of them (at least one), spread evenly."""
    if cycles <= 0 or share <= 0:
        return frozenset()
    count = min(cycles, max(1, round(cycles * share)))
    step = cycles / count
    return frozenset(min(cycles - 1, math.floor(step * i + step / 2)) for i in range(count))


class AutonomyCampaign:
    """Runs autonomy cycles against one tenant of a target."""

    def __init__(
        self,
        profile: TargetProfile,
        driver: AutonomyDriver,
        reader: DerivedDataReader,
        *,
        on_secret: Callable[[str], None],
    ) -> None:
        if profile.admin is None:
            raise ProfileError(
                f"profile {profile.name!r} has no admin section; the campaign injects drift "
                "through the fault API"
            )
        self.profile = profile
        self.driver = driver
        self.reader = reader
        self.on_secret = on_secret
        self._faults = FaultApi(profile)

    def run(
        self,
        tenant: str,
        cycles: int,
        *,
        drift_share: float,
        on_cycle: Callable[[Cycle], None] | None = None,
    ) -> CampaignResult:
        drifted = drift_cycles(cycles, drift_share)
        started = time.time()
        done: list[Cycle] = []
        for index in range(cycles):
            cycle = self.cycle(tenant, index, drift=index in drifted)
            done.append(cycle)
            if on_cycle is not None:
                on_cycle(cycle)
        return CampaignResult(
            tenant=tenant,
            channel=self.driver.channel,
            drift_share=drift_share,
            started_at=started,
            finished_at=time.time(),
            cycles=tuple(done),
        )

    def cycle(self, tenant: str, index: int, *, drift: bool) -> Cycle:
        clock = time.monotonic()
        regions = self.profile.tenant(tenant).regions
        change_base(self.reader, tenant, regions, key=f"pilot:campaign-{index % CAMPAIGN_KEYS}")
        simulation = self.driver.simulate(tenant, DERIVED_UPDATES)
        if simulation.record is None:
            return Cycle(
                index=index,
                drift_injected=False,
                simulated=False,
                success=False,
                false_negative=False,
                detail=f"simulation failed: {simulation.answer.describe()}",
                wall_seconds=time.monotonic() - clock,
            )
        answer, approval = self.driver.approve(simulation)
        if approval is None:
            return Cycle(
                index=index,
                drift_injected=False,
                simulated=True,
                success=False,
                false_negative=False,
                detail=f"approval failed: {answer.describe()}",
                wall_seconds=time.monotonic() - clock,
            )
        self.on_secret(approval.token)
        if drift:
            self._faults.inject(DRIFT_FAULT, tenant=tenant)
        try:
            return self._enact(tenant, regions, index, drift, approval.token, simulation, clock)
        finally:
            if drift:
                self._faults.remove(DRIFT_FAULT, tenant=tenant)

    def _enact(
        self,
        tenant: str,
        regions: tuple[str, ...],
        index: int,
        drift: bool,
        token: str,
        simulation: Simulation,
        clock: float,
    ) -> Cycle:
        before = self.reader.derived_everywhere(tenant, regions)
        enactment = self.driver.enact(tenant, token, simulation.path)
        record = enactment.record

        def judged(**fields: object) -> Cycle:
            return Cycle.model_validate(
                {
                    "index": index,
                    "drift_injected": drift,
                    "simulated": True,
                    "enact_exit": enactment.answer.exit_code,
                    "enactment_id": record.enactment_id if record else None,
                    "simulation_digest": record.simulation_digest if record else None,
                    "approval_fingerprint": (
                        record.approval.token_fingerprint if record and record.approval else None
                    ),
                    "changes": len(record.applied_changes) if record else 0,
                    "abort_reason": record.abort_reason if record else None,
                    "matches_simulation": record.matches_simulation if record else None,
                    "wall_seconds": time.monotonic() - clock,
                    **fields,
                }
            )

        if record is None or record.outcome != "succeeded":
            after = self.reader.derived_everywhere(tenant, regions)
            untouched = after == before
            outcome = "aborted" if record is not None else "refused"
            caught = drift and record is not None and record.abort_reason == "drift"
            why = (record.abort_reason if record else None) or enactment.answer.describe()
            detail = (
                ""
                if caught and untouched
                else f"{outcome} ({why})" + ("" if untouched else "; the rows changed anyway")
            )
            return judged(
                outcome=outcome, success=caught and untouched, false_negative=False, detail=detail
            )
        checks = self.reader.check(tenant, regions)
        correct = all(check.correct for check in checks)
        needs_compensation = not correct or record.matches_simulation is False
        restored: bool | None = None
        detail = "" if correct else "; ".join(c.describe() for c in checks if not c.correct)
        if needs_compensation:
            compensation = self.driver.compensate(tenant, enactment.path)
            restored = (
                compensation.record is not None
                and self.reader.derived_everywhere(tenant, regions) == before
            )
            detail += f"; compensated ({'restored' if restored else 'NOT restored'})"
        return judged(
            outcome="succeeded",
            derived_correct=correct,
            compensated=needs_compensation,
            compensation_restored=restored,
            success=not needs_compensation and not drift,
            false_negative=needs_compensation,
            detail=f"enacted despite drift; {detail}" if drift else detail,
        )
