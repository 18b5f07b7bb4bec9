"""The JSON shapes of the control CLI (docs/target-contract.md §2), as pydantic models.

These read a target's output, so unknown extra fields are ignored (a newer target may say
more) while every field the suite relies on is required and typed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_TARGET = ConfigDict(extra="ignore", frozen=True)

Stage = Literal["staged", "bake", "canary-20", "canary-50", "ga", "rolled-back"]
STAGE_ORDER: tuple[Stage, ...] = ("staged", "bake", "canary-20", "canary-50", "ga")


class Rollout(BaseModel):
    model_config = _TARGET
    stage: Stage
    stage_index: int
    weight: float
    paused: bool
    pause_reason: str | None = None
    stage_elapsed_plan_seconds: float | None = None
    stage_min_plan_seconds: float | None = None


class Flags(BaseModel):
    model_config = _TARGET
    ttl_autotune: bool
    persisted_only: bool


class GlbView(BaseModel):
    model_config = _TARGET
    weights: dict[str, float]
    bias: str | dict[str, float] | None = None


class AutonomyView(BaseModel):
    model_config = _TARGET
    tier: str
    scope: str
    require_hitl: bool
    halted: bool
    halt_reason: str | None = None


class TenantStatus(BaseModel):
    """`tenant status --tenant T --json`."""

    model_config = _TARGET
    tenant: str
    wave: str
    residency: str
    mode: Literal["active-active", "active-passive"]
    regions: tuple[str, ...]
    primary: str | None = None
    failed_over_to: str | None = None
    rollout: Rollout
    flags: Flags
    glb: GlbView
    autonomy_pilot: bool = False
    autonomy: AutonomyView | None = None

    @property
    def active_active(self) -> bool:
        return self.mode == "active-active"

    @property
    def primary_and_peer(self) -> tuple[str, str] | None:
        """The region that takes the tenant's writes (an A/P tenant's primary, else its first
        region) and the first other region, which replication carries them to; None for a
        tenant of one region."""
        primary = self.primary or self.regions[0]
        peer = next((region for region in self.regions if region != primary), None)
        return None if peer is None else (primary, peer)


class TripwireEvent(BaseModel):
    """One auto-action the target performed (`tripwires events --json`)."""

    model_config = _TARGET
    tenant: str
    tripwire: str
    action: str
    result: str | None = None
    condition_since: float | None = None
    fired_at: float
    time_to_action_wall_seconds: float | None = None
    value: float | None = None
    threshold: float | None = None


class TripwireEvents(BaseModel):
    model_config = _TARGET
    events: tuple[TripwireEvent, ...]


class DrRecord(BaseModel):
    """`dr failover|failback --json`."""

    model_config = _TARGET
    kind: str
    tenant: str
    from_region: str | None = Field(default=None, alias="from")
    to: str | None = None
    started_at: float | None = None
    serving_at: float | None = None
    rto_wall_seconds: float | None = None
    rpo_wall_seconds: float | None = None


class DpoPage(BaseModel):
    model_config = _TARGET
    id: str
    at: float
    tenant: str
    severity: str | None = None
    reason: str


class DpoPages(BaseModel):
    model_config = _TARGET
    pages: tuple[DpoPage, ...]


class ProvenanceRecord(BaseModel):
    model_config = _TARGET
    seq: int
    action: str
    tenant: str | None = None
    hash: str


class ProvenanceLog(BaseModel):
    model_config = _TARGET
    records: tuple[ProvenanceRecord, ...]
    chain_valid: bool
    first_broken_seq: int | None = None


class ReplayResult(BaseModel):
    model_config = _TARGET
    tenant: str
    replayed: int
    already_applied: int
    failed: int


class Fault(BaseModel):
    model_config = _TARGET
    id: str
    kind: str
    tenant: str | None = None
    region: str | None = None


class SloBaselineView(BaseModel):
    model_config = _TARGET
    availability: float
    latency_p95_ms: float


class TrafficProfile(BaseModel):
    """The readiness record's traffic profile: peak rate and read/write mix."""

    model_config = _TARGET
    peak_rps: float
    read_ratio: float
    write_ratio: float


class HotKeyCachePlan(BaseModel):
    """The readiness record's hot-key cache plan; TTLs are physical (wall) seconds."""

    model_config = _TARGET
    strategy: str | None = None
    capacity: float | None = None
    base_ttl_seconds: float
    max_ttl_seconds: float | None = None


class QueryBudgets(BaseModel):
    """Query budgets: cost units per wall second per region (token bucket)."""

    model_config = _TARGET
    units_per_second: float
    cost_units_per_plan_day: float | None = None


class DrEnrolment(BaseModel):
    model_config = _TARGET
    schedule: str
    format: str
    status: str


class ReadinessRecord(BaseModel):
    """One tenant's plan §A.1 record (`readiness show --tenant T --json`)."""

    model_config = _TARGET
    tenant: str
    wave: str
    residency: str
    traffic_profile: TrafficProfile
    slo_baseline: SloBaselineView
    residency_tags_verified: bool
    data_volume: dict[str, float]
    hot_key_cache_plan: HotKeyCachePlan
    query_budgets: QueryBudgets
    dr_enrolment: DrEnrolment


class DrStatus(BaseModel):
    """`dr status --json`: DR records and each tenant's drill enrolment."""

    model_config = _TARGET
    records: tuple[DrRecord, ...]
    enrolment: dict[str, DrEnrolment]


class BudgetSet(BaseModel):
    """`readiness set-budget --json`."""

    model_config = _TARGET
    tenant: str
    query_budgets: QueryBudgets
