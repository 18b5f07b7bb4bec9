"""Builders of bake records for the bake unit tests (a module, so tests can import it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pytest_mc.evidence.records import (
    BakeCheckpoint,
    BakeEvent,
    BakePlanInfo,
    CategoryVerdict,
    DayVerdict,
    SliceGates,
)
from pytest_mc.policy.verdict import Verdict

T0 = datetime(2026, 11, 1, tzinfo=UTC)
TENANT = "TENANT_004"
PLAN = BakePlanInfo(
    duration_plan_seconds=4 * 3600.0,
    slice_plan_seconds=3600.0,
    slices=4,
    day_plan_seconds=7200.0,
    days=2,
    time_scale=600.0,
    rehearsal=True,
)


def _category(name: str, verdict: Verdict) -> CategoryVerdict:
    return CategoryVerdict(
        category=name,  # type: ignore[arg-type]
        verdict=verdict,
        qi_ids=(f"{name}_qi",),
        reasons=(f"{name} {verdict.value}",),
    )


def day(
    index: int,
    *,
    green: bool = True,
    bake_id: str = "bake-a",
    day_seconds: float = 86_400.0,
    time_scale: float = 1.0,
    start: datetime | None = None,
    rehearsal: bool = False,
    tenant: str = TENANT,
) -> DayVerdict:
    """Day `index` of a bake; by default days follow each other without a gap."""
    wall = timedelta(seconds=day_seconds / time_scale)
    began = start if start is not None else T0 + index * wall
    slo = Verdict.PASS if green else Verdict.FAIL
    return DayVerdict(
        bake_id=bake_id,
        tenant=tenant,
        day_index=index,
        day_plan_seconds=day_seconds,
        plan_start_seconds=index * day_seconds,
        plan_end_seconds=(index + 1) * day_seconds,
        started_at=began,
        ended_at=began + wall,
        time_scale=time_scale,
        slo=_category("slo", slo),
        cost=_category("cost", Verdict.PASS),
        privacy=_category("privacy", Verdict.PASS),
        green=green,
        rehearsal=rehearsal,
        scale="test",
    )


def event(
    kind: str, *, bake_id: str = "bake-a", tenant: str = TENANT, next_slice: int = 0
) -> BakeEvent:
    return BakeEvent(
        bake_id=bake_id,
        run_id="run-1",
        tenant=tenant,
        event=kind,  # type: ignore[arg-type]
        plan=PLAN,
        next_slice=next_slice,
        outcome="passed" if kind == "finished" else None,
    )


def checkpoint(index: int, *, bake_id: str = "bake-a", tenant: str = TENANT) -> BakeCheckpoint:
    began = T0 + timedelta(seconds=6 * index)
    return BakeCheckpoint(
        bake_id=bake_id,
        run_id="run-1",
        tenant=tenant,
        slice_index=index,
        slices=PLAN.slices,
        plan_start_seconds=index * 3600.0,
        plan_end_seconds=(index + 1) * 3600.0,
        started_at=began,
        ended_at=began + timedelta(seconds=6),
        gates=SliceGates(
            requests=500,
            server_errors=0,
            latency_bound_seconds=0.25,
            latency_within_bound=500,
            latency_count=500,
            max_lag_seconds=2.0 + index,
            conflicts=0,
            writes=250,
            privacy_violations=0,
            max_budget_consumed=0.1,
            verdicts={"replication_lag": Verdict.PASS},
        ),
        green=True,
    )
