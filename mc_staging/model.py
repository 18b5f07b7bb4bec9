"""Shared vocabulary of the staging: regions, tenants, stages, faults and the runtime config.

The control plane owns the ``RuntimeConfig`` document; regions and the GLB long-poll it. These
pydantic models are the only shapes that cross process boundaries inside the staging.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Jurisdiction = Literal["eu", "us"]
Mode = Literal["active-active", "active-passive"]
Wave = Literal["ga", "A", "B"]
Stage = Literal["staged", "bake", "canary-20", "canary-50", "ga", "rolled-back"]
Tier = Literal["T0", "T1", "T2", "T3"]
Scope = Literal["read-only", "read-write"]

STAGES: tuple[Stage, ...] = ("staged", "bake", "canary-20", "canary-50", "ga")
STAGE_INDEX: dict[str, int] = {
    "rolled-back": -1,
    "staged": 0,
    "bake": 1,
    "canary-20": 2,
    "canary-50": 3,
    "ga": 4,
}
# Share of the tenant's traffic sent to its second region in each stage (plan §A.2).
STAGE_SECONDARY_WEIGHT: dict[str, int] = {
    "rolled-back": 0,
    "staged": 0,
    "bake": 0,
    "canary-20": 20,
    "canary-50": 50,
    "ga": 50,
}
# Minimum plan-time duration of each stage before `rollout advance` (plan §A.2).
STAGE_MIN_PLAN_SECONDS: dict[str, float] = {
    "staged": 0.0,
    "bake": 24 * 3600.0,
    "canary-20": 8 * 3600.0,
    "canary-50": 8 * 3600.0,
    "ga": 24 * 3600.0,
    "rolled-back": 0.0,
}

PERSISTED_QUERIES: tuple[str, ...] = (
    "get_entity",
    "put_entity",
    "delete_entity",
    "list_entities",
    "get_derived",
)


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionSpec(Frozen):
    id: str
    jurisdiction: Jurisdiction
    url: str


class TenantRuntime(Frozen):
    """What regions and the GLB need to know about one tenant, right now."""

    id: str
    residency: Jurisdiction
    mode: Mode
    regions: list[str]
    primary: str
    weights: dict[str, int]
    purposes: list[str]
    persisted_only: bool
    persisted_queries: list[str]
    ttl_autotune: bool
    query_budget_units_per_second: int
    stage: Stage
    paused: bool


class Fault(Frozen):
    """One injected fault. ``tenant``/``region`` narrow where it applies (None = everywhere)."""

    id: str
    kind: str
    tenant: str | None = None
    region: str | None = None
    params: dict[str, float | str | bool] = Field(default_factory=dict)
    injected_at: float


class RuntimeConfig(Frozen):
    version: int
    time_scale: float
    regions: list[RegionSpec]
    tenants: dict[str, TenantRuntime]
    faults: list[Fault]


def region_jurisdiction(config: RuntimeConfig, region_id: str) -> str | None:
    for region in config.regions:
        if region.id == region_id:
            return region.jurisdiction
    return None


def faults_for(
    config: RuntimeConfig, kind: str, *, tenant: str | None = None, region: str | None = None
) -> list[Fault]:
    """Active faults of ``kind`` that apply to ``tenant`` in ``region``.

    A fault with an ``expires_after_seconds`` param stops applying that many wall seconds after
    it was injected (it stays listed until removed): the breach lasts exactly its hold."""
    return active_faults(config.faults, kind, tenant=tenant, region=region)


def active_faults(
    faults: Iterable[Fault], kind: str, *, tenant: str | None = None, region: str | None = None
) -> list[Fault]:
    """`faults_for` over any list of faults (the control plane reads its own store)."""
    now = time.time()
    return [
        fault
        for fault in faults
        if fault.kind == kind
        and (fault.tenant is None or tenant is None or fault.tenant == tenant)
        and (fault.region is None or region is None or fault.region == region)
        and not _expired(fault, now)
    ]


def _expired(fault: Fault, now: float) -> bool:
    expires_after = fault.params.get("expires_after_seconds")
    if expires_after is None or isinstance(expires_after, bool):
        return False
    return now >= fault.injected_at + float(expires_after)
