"""The DR drill schedule (plan §A.1, §C): one monthly drill per enrolled tenant, JSON + iCalendar.

Who is drilled comes from the target's readiness records (`readiness show` through the control
CLI): every tenant whose DR enrolment is `enrolled` with a `monthly` schedule. Drills are
spread so no two share a slot: tenant k (in id order) is drilled on the ((k mod 4) + 1)-th
chosen weekday of the month, later tenants of the same week one drill-length later. Ids are
stable (`dr-drill.TARGET.TENANT.YYYY-MM`), so runbooks can cite a drill and a calendar that
imports the file again updates its events instead of duplicating them.
"""

from __future__ import annotations

import calendar as month_calendar
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.drivers.control import ControlClient, parse_as
from pytest_mc.drivers.control_models import ReadinessRecord
from pytest_mc.errors import InputError, UnreachableError
from pytest_mc.integration import ical
from pytest_mc.integration.output import write_model, write_text
from pytest_mc.policy.catalog import CatalogReference, QiCatalog, catalog_reference
from pytest_mc.policy.timewindow import format_duration
from pytest_mc.target.profile import TargetProfile

SCHEDULE_FILE = "dr-drill-schedule.json"
CALENDAR_FILE = "dr-drill-schedule.ics"
RUNBOOK = "docs/dr-drills.md"
WEEKDAYS: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKS_PER_MONTH = 4  # every month has at least four of each weekday
PRODUCT_ID = "-//pytest-mc//DR drill schedule//EN"

Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_STRICT = ConfigDict(extra="forbid", frozen=True)
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]+")


class DrillRule(BaseModel):
    """How drills are placed in a month (all times UTC)."""

    model_config = _STRICT
    frequency: Literal["monthly"] = "monthly"
    weekday: Weekday = "TU"
    start_time_utc: str = Field(default="10:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    duration_minutes: int = Field(default=120, gt=0, le=720)
    placement: str = Field(
        default="tenant k (id order) on the ((k mod 4) + 1)-th weekday of the month; tenants "
        "sharing a week follow each other, one drill length apart"
    )


class DrillOccurrence(BaseModel):
    """One drill: its stable id (also the iCalendar UID before '@') and its UTC slot."""

    model_config = _STRICT
    id: str
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    start: datetime
    end: datetime


class Enrolment(BaseModel):
    """The tenant's DR enrolment as its readiness record states it."""

    model_config = _STRICT
    status: str
    schedule: str
    format: str


class TenantDrills(BaseModel):
    """A tenant's drill series."""

    model_config = _STRICT
    series_id: str
    tenant: str
    wave: str
    residency: str
    regions: tuple[str, ...] = Field(description="from the target profile; empty if absent")
    enrolment: Enrolment
    week_of_month: int = Field(ge=1, le=WEEKS_PER_MONTH)
    slot: int = Field(ge=0, description="position among the tenants drilled the same day")
    runbook: str
    occurrences: tuple[DrillOccurrence, ...]


class NotEnrolled(BaseModel):
    """A tenant the readiness records do not enrol for monthly drills, and why."""

    model_config = _STRICT
    tenant: str
    enrolment: Enrolment
    reason: str


class DrillObjectives(BaseModel):
    """What each drill must show, from the QI catalog the schedule was made with."""

    model_config = _STRICT
    rpo_seconds: float = Field(description="plan seconds (QI rpo)")
    rto_seconds: float = Field(description="plan seconds (QI rto)")
    catalog: CatalogReference


class DrDrillSchedule(BaseModel):
    """`dr-drill-schedule.json`: referenced by runbooks and exported to a calendar (plan §C)."""

    model_config = _STRICT
    schema_version: Literal[1] = 1
    kind: Literal["dr-drill-schedule"] = "dr-drill-schedule"
    target: str
    generated_at: datetime
    source: str
    timezone: Literal["UTC"] = "UTC"
    first_month: str = Field(pattern=r"^\d{4}-\d{2}$")
    months: int = Field(ge=1, le=60)
    rule: DrillRule
    objectives: DrillObjectives
    drills: tuple[TenantDrills, ...]
    not_enrolled: tuple[NotEnrolled, ...]


# --------------------------------------------------------------------------- target


def read_readiness(control: ControlClient) -> dict[str, ReadinessRecord]:
    """Every tenant's readiness record (`readiness show --json` without a tenant)."""
    data = control.call("readiness", "show")
    if not isinstance(data, dict):
        raise UnreachableError(
            "control CLI output of 'readiness show' is not a {tenant: record} object; the "
            "target breaks the contract (docs/target-contract.md)"
        )
    return {
        str(tenant): parse_as(ReadinessRecord, record, what="readiness show")
        for tenant, record in sorted(data.items())
    }


# --------------------------------------------------------------------------- schedule


def safe_id(text: str) -> str:
    """`text` reduced to letters, digits, '_' and '-', for use inside ids and UIDs."""
    return _UNSAFE_ID.sub("-", text).strip("-") or "target"


def nth_weekday(year: int, month: int, weekday: Weekday, nth: int) -> date:
    """The `nth` (1-based) `weekday` of a month."""
    first = date(year, month, 1)
    offset = (WEEKDAYS.index(weekday) - first.weekday()) % 7
    day = first + timedelta(days=offset + 7 * (nth - 1))
    if day.month != month:
        raise ValueError(f"{year}-{month:02d} has no {nth}th {weekday}")
    return day


def _months(first: date, count: int) -> list[tuple[int, int]]:
    out = []
    year, month = first.year, first.month
    for _ in range(count):
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def next_month(today: date) -> date:
    """The first day of the month after `today`: where a new schedule starts by default."""
    days = month_calendar.monthrange(today.year, today.month)[1]
    return (today.replace(day=1) + timedelta(days=days)).replace(day=1)


def parse_month(text: str) -> date:
    """`YYYY-MM` → the first day of that month, or a one-line InputError."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"cannot read month {text!r}: write it as YYYY-MM, e.g. 2026-12")
    return date(int(match.group(1)), int(match.group(2)), 1)


def build_schedule(
    target: str,
    records: Mapping[str, ReadinessRecord],
    catalog: QiCatalog,
    *,
    profile: TargetProfile | None = None,
    first_month: date,
    months: int = 12,
    rule: DrillRule | None = None,
    generated_at: datetime | None = None,
) -> DrDrillSchedule:
    """The schedule for every tenant whose record enrols it in monthly drills."""
    rule = rule or DrillRule()
    if not 1 <= months <= 60:
        raise InputError(f"months must be between 1 and 60, got {months}")
    hours, minutes = (int(part) for part in rule.start_time_utc.split(":"))
    length = timedelta(minutes=rule.duration_minutes)
    enrolled: list[ReadinessRecord] = []
    refused: list[NotEnrolled] = []
    for tenant, record in sorted(records.items()):
        enrolment = _enrolment(record)
        problems = []
        if enrolment.status != "enrolled":
            problems.append(f"status {enrolment.status!r}, not 'enrolled'")
        if enrolment.schedule != "monthly":
            problems.append(f"schedule {enrolment.schedule!r}, not 'monthly'")
        if problems:
            refused.append(
                NotEnrolled(tenant=tenant, enrolment=enrolment, reason="; ".join(problems))
            )
        else:
            enrolled.append(record)
    prefix = f"dr-drill.{safe_id(target)}"
    drills = []
    for index, record in enumerate(enrolled):
        week = index % WEEKS_PER_MONTH + 1
        slot = index // WEEKS_PER_MONTH
        series = f"{prefix}.{safe_id(record.tenant)}"
        occurrences = []
        for year, month in _months(first_month, months):
            day = nth_weekday(year, month, rule.weekday, week)
            start = datetime.combine(day, time(hours, minutes), tzinfo=UTC) + slot * length
            occurrences.append(
                DrillOccurrence(
                    id=f"{series}.{year:04d}-{month:02d}",
                    month=f"{year:04d}-{month:02d}",
                    start=start,
                    end=start + length,
                )
            )
        drills.append(
            TenantDrills(
                series_id=series,
                tenant=record.tenant,
                wave=record.wave,
                residency=record.residency,
                regions=_regions(profile, record.tenant),
                enrolment=_enrolment(record),
                week_of_month=week,
                slot=slot,
                runbook=RUNBOOK,
                occurrences=tuple(occurrences),
            )
        )
    return DrDrillSchedule(
        target=target,
        generated_at=generated_at or datetime.now(UTC).replace(microsecond=0),
        source="target readiness records (control CLI `readiness show --json`), dr_enrolment",
        first_month=f"{first_month.year:04d}-{first_month.month:02d}",
        months=months,
        rule=rule,
        objectives=DrillObjectives(
            rpo_seconds=catalog.get("rpo").target,
            rto_seconds=catalog.get("rto").target,
            catalog=catalog_reference(catalog),
        ),
        drills=tuple(drills),
        not_enrolled=tuple(refused),
    )


def _enrolment(record: ReadinessRecord) -> Enrolment:
    return Enrolment(
        status=record.dr_enrolment.status,
        schedule=record.dr_enrolment.schedule,
        format=record.dr_enrolment.format,
    )


def _regions(profile: TargetProfile | None, tenant: str) -> tuple[str, ...]:
    if profile is None:
        return ()
    for known in profile.tenants:
        if known.id == tenant:
            return known.regions
    return ()


# --------------------------------------------------------------------------- iCalendar


def to_icalendar(schedule: DrDrillSchedule) -> str:
    """The schedule as an RFC 5545 calendar: one VEVENT per drill, UID = drill id."""
    events = []
    rpo = format_duration(schedule.objectives.rpo_seconds)
    rto = format_duration(schedule.objectives.rto_seconds)
    for series in schedule.drills:
        regions = ", ".join(series.regions) or "see the target profile"
        for occurrence in series.occurrences:
            events.append(
                ical.Event(
                    uid=f"{occurrence.id}@pytest-mc",
                    start=occurrence.start,
                    end=occurrence.end,
                    summary=f"DR drill: {series.tenant} ({schedule.target})",
                    description=(
                        f"Monthly DR drill of {series.tenant} (wave {series.wave}, residency "
                        f"{series.residency}, regions {regions}) on {schedule.target}: kill "
                        f"the serving region, measure RPO <= {rpo} and RTO <= {rto}, fail back.\n"
                        f"Drill id: {occurrence.id}\nRunbook: {series.runbook}\n"
                        f"Schedule: {SCHEDULE_FILE}"
                    ),
                    categories=("DR drill", series.tenant),
                )
            )
    return ical.calendar(
        events,
        product_id=PRODUCT_ID,
        name=f"DR drills — {schedule.target}",
        stamp=schedule.generated_at,
    )


def write_schedule(schedule: DrDrillSchedule, out_dir: Path) -> tuple[Path, Path]:
    """Write the schedule JSON and its iCalendar export side by side."""
    json_path = write_model(schedule, out_dir / SCHEDULE_FILE, schema="dr-drill-schedule")
    ics_path = write_text(out_dir / CALENDAR_FILE, to_icalendar(schedule), newline="")
    return json_path, ics_path
