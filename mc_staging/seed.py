"""The seeded world: three regions and the five tenants of the plan, with readiness records.

TENANT_001..003 run active/active at GA (TENANT_001 is the autonomy pilot); TENANT_004 (wave A)
and TENANT_005 (wave B) are onboarding, staged in active/passive.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mc_staging.model import PERSISTED_QUERIES, Jurisdiction, Mode, Stage, Tier, Wave


class RegionSeed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    jurisdiction: Jurisdiction


REGIONS: tuple[RegionSeed, ...] = (
    RegionSeed(id="eu-west", jurisdiction="eu"),
    RegionSeed(id="eu-central", jurisdiction="eu"),
    RegionSeed(id="us-east", jurisdiction="us"),
)


class SloBaseline(BaseModel):
    model_config = ConfigDict(extra="forbid")
    availability: float = 0.999
    latency_p95_ms: float = 250.0


def _cache_plan() -> dict[str, float | str]:
    return {
        "strategy": "lru+ttl",
        "capacity": 2048.0,
        "base_ttl_seconds": 1.0,
        "max_ttl_seconds": 5.0,
    }


class Readiness(BaseModel):
    """Plan §A.1 readiness record of one tenant."""

    model_config = ConfigDict(extra="forbid")
    traffic_profile: dict[str, float] = Field(
        default_factory=lambda: {"peak_rps": 200.0, "read_ratio": 0.8, "write_ratio": 0.2}
    )
    slo_baseline: SloBaseline = Field(default_factory=SloBaseline)
    residency_tags_verified: bool = True
    data_volume: dict[str, float] = Field(
        default_factory=lambda: {"entities": 10000.0, "bytes": 5.0e6}
    )
    hot_key_cache_plan: dict[str, float | str] = Field(default_factory=_cache_plan)
    query_budgets: dict[str, float] = Field(
        default_factory=lambda: {"units_per_second": 5000.0, "cost_units_per_plan_day": 2.0e9}
    )
    dr_enrolment: dict[str, str] = Field(
        default_factory=lambda: {"schedule": "monthly", "format": "json", "status": "enrolled"}
    )


class AutonomyState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tier: Tier = "T0"
    scope: str = "read-only"
    require_hitl: bool = True
    halted: bool = False
    halt_reason: str | None = None


class TenantRecord(BaseModel):
    """The control plane's full record of one tenant (persisted as JSON)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    wave: Wave
    residency: Jurisdiction
    mode: Mode
    regions: list[str]
    primary: str
    stage: Stage
    stage_entered_at: float = 0.0
    paused: bool = False
    pause_reason: str | None = None
    glb_bias: dict[str, int] | None = None
    failed_over_to: str | None = None
    ttl_autotune: bool = True
    persisted_only: bool = True
    purposes: list[str] = Field(default_factory=lambda: ["service", "support"])
    persisted_queries: list[str] = Field(default_factory=lambda: list(PERSISTED_QUERIES))
    autonomy_pilot: bool = False
    autonomy: AutonomyState = Field(default_factory=AutonomyState)
    readiness: Readiness = Field(default_factory=Readiness)
    budget_period_started_at: float = 0.0


def seed_tenants(now: float) -> list[TenantRecord]:
    pair = ["eu-west", "eu-central"]
    tenants: list[TenantRecord] = []
    for number, wave, stage in (
        (1, "ga", "ga"),
        (2, "ga", "ga"),
        (3, "ga", "ga"),
        (4, "A", "staged"),
        (5, "B", "staged"),
    ):
        ga = stage == "ga"
        primary = pair[(number + 1) % 2]  # alternate primaries so both regions carry load
        regions = [primary, *[r for r in pair if r != primary]]
        mode: Mode = "active-active" if ga else "active-passive"
        tenant_stage: Stage = "ga" if ga else "staged"
        tenant_wave: Wave = "ga" if wave == "ga" else ("A" if wave == "A" else "B")
        tenants.append(
            TenantRecord(
                id=f"TENANT_{number:03d}",
                wave=tenant_wave,
                residency="eu",
                mode=mode,
                regions=regions,
                primary=primary,
                stage=tenant_stage,
                stage_entered_at=now,
                autonomy_pilot=number == 1,
                budget_period_started_at=now,
            )
        )
    return tenants
