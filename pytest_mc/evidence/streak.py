"""The green-day streak of a tenant, computed from the day verdicts in the evidence record.

A streak counts consecutive green days ending at the latest judged day (DoD "14 consecutive
days green"). It is never stored as a number someone could edit: the bundle and
`mc-verify bake` both recompute it from `DayVerdict` records. A red day resets it to 0; a
missing day breaks it (a gap in a bake's day numbers, or at least one day length of plan
time between two days that nobody observed); days of different lengths or time scales never
join one streak, so a compressed rehearsal day cannot extend a real one, and a streak of days
shorter than 24h of plan time says so beside its count ("14 days of 1h plan time").
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.evidence.records import DayVerdict
from pytest_mc.policy.timewindow import DAY_PLAN_SECONDS, format_duration


class DayRef(BaseModel):
    """Which day: the bake it belongs to and its index there."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    bake_id: str
    day_index: int


class GreenStreak(BaseModel):
    """A tenant's streak of green days, as the record shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    tenant: str
    current_days: int = Field(ge=0, description="consecutive green days up to the latest day")
    longest_days: int = Field(ge=0)
    days_judged: int = Field(ge=0)
    latest_day: DayRef | None = None
    rehearsal: bool = Field(description="a day of the current streak is a rehearsal day")
    broken_by: str | None = Field(
        default=None, description="why the streak last restarted (red or missing day)"
    )
    day_plan_seconds: float | None = Field(
        default=None,
        gt=0,
        description="plan seconds of the latest judged day, so of every day of the current "
        "streak (86400 on a real staging; a rehearsal may judge shorter days)",
    )

    @property
    def note(self) -> str | None:
        """``"14 days of 1h plan time"`` when the streak's days are shorter than 24h, else None."""
        return compressed_days(self.current_days, self.day_plan_seconds)


def compressed_days(days: float | None, day_plan_seconds: float | None) -> str | None:
    """A day count with the length of its days, when they are shorter than the plan's 24h.

    ``compressed_days(14, 3600) == "14 days of 1h plan time"``; ``None`` for 24h days or an
    unknown length, so a figure that is weaker than GA is labelled where it is shown.
    """
    if days is None or day_plan_seconds is None or day_plan_seconds >= DAY_PLAN_SECONDS:
        return None
    unit = "day" if days == 1 else "days"
    return f"{days:g} {unit} of {format_duration(day_plan_seconds)} plan time"


def _label(day: DayVerdict) -> str:
    return f"day {day.day_index} of bake {day.bake_id}"


def _red_reason(day: DayVerdict) -> str:
    failing = [
        f"{c.category} {c.verdict.value}" + (f" ({c.reasons[0]})" if c.reasons else "")
        for c in (day.slo, day.cost, day.privacy)
        if c.verdict.value != "pass"
    ]
    return f"{_label(day)} was not green: {'; '.join(failing) or 'not green'}"


def _gap(previous: DayVerdict, day: DayVerdict) -> str | None:
    """Why `day` does not directly follow `previous`, or None when it does."""
    if (day.day_plan_seconds, day.time_scale) != (previous.day_plan_seconds, previous.time_scale):
        return (
            f"{_label(day)} is a {day.day_plan_seconds:g}s day at time_scale {day.time_scale:g}, "
            f"{_label(previous)} a {previous.day_plan_seconds:g}s day at time_scale "
            f"{previous.time_scale:g}; days of different lengths never join one streak"
        )
    if day.bake_id == previous.bake_id and day.day_index != previous.day_index + 1:
        return f"day {previous.day_index + 1} of bake {day.bake_id} is missing"
    unobserved = (day.started_at - previous.ended_at).total_seconds() * day.time_scale
    if unobserved >= day.day_plan_seconds:
        return (
            f"a day is missing: {unobserved:g}s of plan time between the end of "
            f"{_label(previous)} and the start of {_label(day)} were not observed"
        )
    return None


def compute_streak(tenant: str, days: Iterable[DayVerdict]) -> GreenStreak:
    """The streak of `tenant` from its day verdicts in record (chain) order.

    A day recorded twice (same bake and index) counts once, the first time.
    """
    seen: set[tuple[str, int]] = set()
    previous: DayVerdict | None = None
    current = longest = judged = 0
    rehearsal = False
    broken_by: str | None = None
    for day in days:
        if day.tenant != tenant or (day.bake_id, day.day_index) in seen:
            continue
        seen.add((day.bake_id, day.day_index))
        judged += 1
        gap = _gap(previous, day) if previous is not None else None
        if gap is not None and current:
            current, rehearsal, broken_by = 0, False, gap
        if day.green:
            current += 1
            rehearsal = rehearsal or day.rehearsal
        else:
            current, rehearsal, broken_by = 0, False, _red_reason(day)
        longest = max(longest, current)
        previous = day
    return GreenStreak(
        tenant=tenant,
        current_days=current,
        longest_days=longest,
        days_judged=judged,
        latest_day=(
            None
            if previous is None
            else DayRef(bake_id=previous.bake_id, day_index=previous.day_index)
        ),
        rehearsal=rehearsal,
        broken_by=broken_by,
        day_plan_seconds=None if previous is None else previous.day_plan_seconds,
    )
