"""Cutting a bake into slices and days, and finding where a crashed bake resumes.

A bake's plan-time length comes from the QI catalog (`stage_bake`, 24h) unless the caller
asks for another length or for N days. It is cut into slices (1h of plan time by default);
each completed slice is checkpointed in the evidence chain. `resume_point` reads that chain
back (verified) and says which slice comes next, which days are already judged and which
slices of unjudged days must be folded again, so a resumed bake neither loses nor repeats a
slice. Memory stays flat: only running totals and the slices of unjudged days are kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from pytest_mc.errors import InputError
from pytest_mc.evidence.records import (
    BakeCheckpoint,
    BakeEvent,
    BakePlanInfo,
    ChainRecord,
    DayVerdict,
    SliceGates,
)
from pytest_mc.metrics.evaluator import require_measurable
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.timewindow import DAY_PLAN_SECONDS, format_duration

DEFAULT_SLICE_PLAN_SECONDS = 3_600.0
_TOLERANCE = 1e-6


def _whole(numerator: float, denominator: float) -> int | None:
    """`numerator / denominator` when it is a whole number, else None."""
    ratio = numerator / denominator
    nearest = round(ratio)
    return nearest if nearest >= 1 and abs(ratio - nearest) < _TOLERANCE * max(1, ratio) else None


def make_plan(
    catalog: QiCatalog,
    *,
    time_scale: float,
    sample_interval_seconds: float,
    duration_plan_seconds: float | None = None,
    days: int | None = None,
    day_plan_seconds: float = DAY_PLAN_SECONDS,
    slice_plan_seconds: float | None = None,
) -> BakePlanInfo:
    """The slices and days of a bake; every inconsistency is one `InputError` line."""
    stage = catalog.get("stage_bake")
    if day_plan_seconds <= 0:
        raise InputError(f"--day-length must be longer than 0s, not {day_plan_seconds!r}")
    slice_seconds = (
        slice_plan_seconds
        if slice_plan_seconds is not None
        else min(DEFAULT_SLICE_PLAN_SECONDS, day_plan_seconds)
    )
    if slice_seconds <= 0:
        raise InputError(f"--slice must be longer than 0s, not {slice_seconds!r}")
    if _whole(day_plan_seconds, slice_seconds) is None:
        raise InputError(
            f"a day of {format_duration(day_plan_seconds)} is not a whole number of "
            f"{format_duration(slice_seconds)} slices; choose --slice so that it divides "
            f"--day-length"
        )
    if days is not None:
        if days < 1:
            raise InputError(f"--days must be at least 1, not {days}")
        by_days = days * day_plan_seconds
        if duration_plan_seconds is not None and abs(duration_plan_seconds - by_days) > 1e-6:
            raise InputError(
                f"--duration {format_duration(duration_plan_seconds)} contradicts --days {days} "
                f"of {format_duration(day_plan_seconds)} ({format_duration(by_days)}); give one"
            )
        duration = by_days
    else:
        duration = duration_plan_seconds if duration_plan_seconds is not None else stage.target
    if duration <= 0:
        raise InputError(f"--duration must be longer than 0s, not {duration!r}")
    slices = _whole(duration, slice_seconds)
    if slices is None:
        raise InputError(
            f"--duration {format_duration(duration)} is not a whole number of "
            f"{format_duration(slice_seconds)} slices; use a multiple of the slice length"
        )
    require_measurable(
        slice_seconds,
        time_scale=time_scale,
        sample_interval_seconds=sample_interval_seconds,
        what="a bake slice (--slice)",
    )
    return BakePlanInfo(
        duration_plan_seconds=duration,
        slice_plan_seconds=slice_seconds,
        slices=slices,
        day_plan_seconds=day_plan_seconds,
        days=math.floor(duration / day_plan_seconds + _TOLERANCE),
        time_scale=time_scale,
        rehearsal=(
            time_scale != 1.0 or day_plan_seconds != DAY_PLAN_SECONDS or duration < stage.target
        ),
    )


def slices_per_day(plan: BakePlanInfo) -> int:
    per_day = _whole(plan.day_plan_seconds, plan.slice_plan_seconds)
    assert per_day is not None  # make_plan refused anything else
    return per_day


def day_of(plan: BakePlanInfo, slice_index: int) -> int:
    """The day a slice belongs to (slices past the last whole day belong to no judged day)."""
    return slice_index // slices_per_day(plan)


def _worst_max(current: float | None, value: float | None) -> float | None:
    if value is None:
        return current
    return value if current is None else max(current, value)


@dataclass
class GateTotals:
    """Running sums of slice numbers: a day's or the whole bake's, in flat memory.

    A number missing in any folded slice is named in `missing`: the total is then partial,
    and what is judged from it is inconclusive, never a pass.
    """

    slices: int = 0
    requests: int = 0
    server_errors: int = 0
    latency_bound_seconds: float | None = None
    latency_within_bound: int = 0
    latency_count: int = 0
    max_lag_seconds: float | None = None
    conflicts: int = 0
    writes: int = 0
    privacy_violations: int = 0
    max_budget_consumed: float | None = None
    failed_gates: int = 0
    missing: set[str] = field(default_factory=set)

    def add(self, gates: SliceGates) -> None:
        self.slices += 1
        for name in ("requests", "server_errors", "conflicts", "writes", "privacy_violations"):
            value = getattr(gates, name)
            if value is None:
                self.missing.add(name)
            else:
                setattr(self, name, getattr(self, name) + value)
        if gates.latency_within_bound is None or gates.latency_count is None:
            self.missing.add("latency")
        else:
            self.latency_within_bound += gates.latency_within_bound
            self.latency_count += gates.latency_count
            self.latency_bound_seconds = gates.latency_bound_seconds
        if gates.max_lag_seconds is None:
            self.missing.add("max_lag_seconds")
        self.max_lag_seconds = _worst_max(self.max_lag_seconds, gates.max_lag_seconds)
        if gates.max_budget_consumed is None:
            self.missing.add("max_budget_consumed")
        self.max_budget_consumed = _worst_max(self.max_budget_consumed, gates.max_budget_consumed)
        self.failed_gates += sum(1 for v in gates.verdicts.values() if v.value == "fail")


@dataclass
class ResumePoint:
    """Where a bake continues: its id and plan, the next slice, and what to fold again."""

    bake_id: str
    plan: BakePlanInfo
    next_slice: int
    judged_days: set[int]
    pending: list[BakeCheckpoint]
    totals: GateTotals
    days_failed: int
    resumes: int


def resume_point(
    records: Iterable[ChainRecord], *, tenant: str, bake_id: str | None = None, where: str
) -> ResumePoint:
    """Read a verified chain and say where the latest (or the named) bake of `tenant` resumes.

    Refuses, with one line naming the chain: no bake to resume, a bake that already finished,
    and checkpoints that skip or repeat a slice (the record would then be inconsistent).
    """
    point: ResumePoint | None = None
    finished: BakeEvent | None = None
    for record in records:
        body = record.body
        if isinstance(body, BakeEvent) and body.tenant == tenant:
            if body.event == "started" and bake_id in (None, body.bake_id):
                point = ResumePoint(
                    bake_id=body.bake_id,
                    plan=body.plan,
                    next_slice=0,
                    judged_days=set(),
                    pending=[],
                    totals=GateTotals(),
                    days_failed=0,
                    resumes=0,
                )
                finished = None
            elif point is not None and body.bake_id == point.bake_id:
                if body.event == "finished":
                    finished = body
                elif body.event == "resumed":
                    point.resumes += 1
        elif point is None or getattr(body, "bake_id", None) != point.bake_id:
            continue
        elif isinstance(body, BakeCheckpoint):
            if body.slice_index != point.next_slice:
                problem = "repeats" if body.slice_index < point.next_slice else "skips"
                raise InputError(
                    f"evidence chain {where}: bake {point.bake_id} checkpoint of slice "
                    f"{body.slice_index} {problem} a slice (expected {point.next_slice}); the "
                    f"chain cannot be resumed, start a new bake without --resume"
                )
            point.next_slice += 1
            point.totals.add(body.gates)
            point.pending.append(body)
        elif isinstance(body, DayVerdict):
            point.judged_days.add(body.day_index)
            point.days_failed += 0 if body.green else 1
            point.pending = [
                c for c in point.pending if day_of(point.plan, c.slice_index) != body.day_index
            ]
    if point is None:
        which = f"bake {bake_id}" if bake_id else f"bake of tenant {tenant}"
        raise InputError(
            f"evidence chain {where} holds no {which} to resume; run `mc-verify bake` "
            f"without --resume to start one"
        )
    if finished is not None:
        raise InputError(
            f"bake {point.bake_id} of tenant {tenant} in {where} already finished "
            f"({finished.outcome}); start a new bake without --resume"
        )
    return point
