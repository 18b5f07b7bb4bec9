"""The DR drill schedule: enrolment from readiness records, placement, stable ids, and an
iCalendar export that a real parser (icalendar) and a strict line check both accept."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import icalendar
import jsonschema
import pytest

from pytest_mc.drivers.control_models import ReadinessRecord
from pytest_mc.errors import InputError, UnreachableError
from pytest_mc.integration import ical
from pytest_mc.integration.dr_schedule import (
    CALENDAR_FILE,
    SCHEDULE_FILE,
    DrDrillSchedule,
    DrillRule,
    build_schedule,
    next_month,
    nth_weekday,
    parse_month,
    read_readiness,
    to_icalendar,
    write_schedule,
)
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.schemas import schema_path

STAMP = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FIRST = date(2026, 12, 1)


def record(tenant: str, *, status: str = "enrolled", schedule: str = "monthly") -> dict[str, Any]:
    return {
        "tenant": tenant,
        "wave": "ga" if tenant <= "TENANT_003" else "A",
        "residency": "EU",
        "traffic_profile": {"peak_rps": 100, "read_ratio": 0.8, "write_ratio": 0.2},
        "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
        "residency_tags_verified": True,
        "data_volume": {"rows": 1000},
        "hot_key_cache_plan": {"base_ttl_seconds": 1.0},
        "query_budgets": {"units_per_second": 5000},
        "dr_enrolment": {"schedule": schedule, "format": "json", "status": status},
    }


def records(*tenants: str, **special: dict[str, str]) -> dict[str, ReadinessRecord]:
    return {t: ReadinessRecord.model_validate(record(t, **special.get(t, {}))) for t in tenants}


TENANTS = tuple(f"TENANT_{n:03d}" for n in range(1, 7))


@pytest.fixture
def schedule(catalog: QiCatalog) -> DrDrillSchedule:
    return build_schedule(
        "reference staging",
        records(*TENANTS, TENANT_006={"status": "pending"}),
        catalog,
        first_month=FIRST,
        months=12,
        generated_at=STAMP,
    )


def test_every_enrolled_tenant_is_drilled_monthly(schedule: DrDrillSchedule) -> None:
    assert [d.tenant for d in schedule.drills] == list(TENANTS[:5])
    assert [(n.tenant, n.reason) for n in schedule.not_enrolled] == [
        ("TENANT_006", "status 'pending', not 'enrolled'")
    ]
    for series in schedule.drills:
        months = [o.month for o in series.occurrences]
        assert months == ["2026-12", *(f"2027-{m:02d}" for m in range(1, 12))]


def test_a_non_monthly_enrolment_is_not_scheduled(catalog: QiCatalog) -> None:
    built = build_schedule(
        "s",
        records("TENANT_001", TENANT_001={"schedule": "quarterly"}),
        catalog,
        first_month=FIRST,
    )
    assert built.drills == ()
    assert "schedule 'quarterly', not 'monthly'" in built.not_enrolled[0].reason


def test_drills_are_placed_on_distinct_weekday_slots(schedule: DrDrillSchedule) -> None:
    placed = {d.tenant: (d.week_of_month, d.slot) for d in schedule.drills}
    assert placed == {
        "TENANT_001": (1, 0),
        "TENANT_002": (2, 0),
        "TENANT_003": (3, 0),
        "TENANT_004": (4, 0),
        "TENANT_005": (1, 1),
    }
    december = {d.tenant: d.occurrences[0] for d in schedule.drills}
    # December 2026: Tuesdays are the 1st, 8th, 15th, 22nd and 29th
    assert december["TENANT_001"].start == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert december["TENANT_004"].start == datetime(2026, 12, 22, 10, 0, tzinfo=UTC)
    # the fifth tenant shares the first week and follows the first one's drill
    assert december["TENANT_005"].start == december["TENANT_001"].end
    for occurrence in december.values():
        assert occurrence.start.weekday() == 1
        assert occurrence.end - occurrence.start == timedelta(minutes=120)


def test_objectives_come_from_the_catalog(schedule: DrDrillSchedule, catalog: QiCatalog) -> None:
    assert schedule.objectives.rpo_seconds == catalog.get("rpo").target
    assert schedule.objectives.rto_seconds == catalog.get("rto").target
    assert schedule.objectives.catalog.digest == catalog.digest


def test_ids_are_stable_across_regeneration(schedule: DrDrillSchedule, catalog: QiCatalog) -> None:
    again = build_schedule(
        "reference staging",
        records(*TENANTS, TENANT_006={"status": "pending"}),
        catalog,
        first_month=FIRST,
        months=12,
        generated_at=STAMP + timedelta(days=3),
    )
    ids = [o.id for d in schedule.drills for o in d.occurrences]
    assert ids == [o.id for d in again.drills for o in d.occurrences]
    assert len(set(ids)) == len(ids) == 60
    assert ids[0] == "dr-drill.reference-staging.TENANT_001.2026-12"


def test_no_two_drills_overlap_even_with_long_drills(catalog: QiCatalog) -> None:
    long_drills = DrillRule(start_time_utc="10:00", duration_minutes=720)
    many = records(*(f"TENANT_{n:03d}" for n in range(1, 10)))
    built = build_schedule("s", many, catalog, first_month=FIRST, months=3, rule=long_drills)
    assert len(built.drills) == 9
    slots = sorted((o.start, o.end) for d in built.drills for o in d.occurrences)
    for (_, end), (start, _) in pairwise(slots):
        assert start >= end
    assert nth_weekday(2026, 12, "TU", 4) == date(2026, 12, 22)
    with pytest.raises(ValueError, match="no 5th"):
        nth_weekday(2027, 2, "TU", 5)


def test_months_and_dates_parse(catalog: QiCatalog) -> None:
    assert parse_month("2027-02") == date(2027, 2, 1)
    assert next_month(date(2026, 12, 31)) == date(2027, 1, 1)
    with pytest.raises(InputError, match="YYYY-MM"):
        parse_month("2027-13")
    with pytest.raises(InputError, match="between 1 and 60"):
        build_schedule("s", {}, catalog, first_month=FIRST, months=0)


def physical_lines(text: str) -> list[bytes]:
    raw = text.encode("utf-8")
    assert raw.endswith(b"\r\n")
    lines = raw.split(b"\r\n")[:-1]
    for line in lines:
        assert b"\n" not in line, f"bare LF in {line!r}"
        assert b"\r" not in line, f"bare CR in {line!r}"
        assert len(line) <= 75, f"{len(line)} octets: {line!r}"
        line.decode("utf-8")  # never a multi-byte character split across lines
    return lines


def unfold(lines: list[bytes]) -> list[str]:
    logical: list[str] = []
    for line in lines:
        text = line.decode("utf-8")
        if text.startswith(" "):
            logical[-1] += text[1:]
        else:
            logical.append(text)
    return logical


def test_icalendar_is_strict_rfc5545_text(schedule: DrDrillSchedule) -> None:
    text = to_icalendar(schedule)
    logical = unfold(physical_lines(text))
    assert logical[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"]
    assert logical[-1] == "END:VCALENDAR"
    assert sum(1 for line in logical if line == "BEGIN:VEVENT") == 60
    assert any(len(line.encode()) > 75 for line in logical), "nothing needed folding"
    for line in logical:
        name = line.split(":", 1)[0]
        if name == "DTSTAMP":
            assert line == "DTSTAMP:20261126T120000Z"
        if name in ("DTSTART", "DTEND"):
            assert line.endswith("Z")


def test_icalendar_parses_back_to_the_schedule(schedule: DrDrillSchedule) -> None:
    parsed = icalendar.Calendar.from_ical(to_icalendar(schedule))
    events = list(parsed.walk("VEVENT"))
    expected = {o.id: (d, o) for d in schedule.drills for o in d.occurrences}
    assert len(events) == len(expected)
    for event in events:
        uid = str(event["UID"])
        assert uid.endswith("@pytest-mc")
        series, occurrence = expected[uid.removesuffix("@pytest-mc")]
        assert event.decoded("DTSTART") == occurrence.start
        assert event.decoded("DTEND") == occurrence.end
        assert event.decoded("DTSTAMP") == STAMP
        assert str(event["SUMMARY"]) == f"DR drill: {series.tenant} (reference staging)"
        description = str(event["DESCRIPTION"])
        assert f"Drill id: {occurrence.id}\nRunbook: docs/dr-drills.md" in description
        assert "RPO <= 5m and RTO <= 30m" in description
        assert "RRULE" not in event


def test_folding_never_splits_a_character_and_round_trips() -> None:
    value = "Ä" * 30 + ";, \\ and a newline\nhere" + "€" * 40
    line = "DESCRIPTION:" + ical.escape_text(value)
    folded = ical.fold(line)
    lines = physical_lines(folded + ical.CRLF)
    assert len(lines) > 2
    assert unfold(lines) == [line]
    event = icalendar.Event.from_ical("BEGIN:VEVENT\r\n" + folded + "\r\nEND:VEVENT\r\n")
    assert str(event["DESCRIPTION"]) == value
    with pytest.raises(ValueError, match="timezone-aware"):
        ical.utc_stamp(datetime(2026, 1, 1))


def test_files_are_written_and_the_json_matches_its_schema(
    schedule: DrDrillSchedule, tmp_path: Path
) -> None:
    json_path, ics_path = write_schedule(schedule, tmp_path)
    assert (json_path.name, ics_path.name) == (SCHEDULE_FILE, CALENDAR_FILE)
    document = json.loads(json_path.read_text())
    schema = json.loads(schema_path("dr-drill-schedule").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert DrDrillSchedule.model_validate(document) == schedule
    assert ics_path.read_bytes() == to_icalendar(schedule).encode("utf-8")


class _Control:
    """A control client double answering `readiness show` with canned JSON."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls: list[tuple[str, ...]] = []

    def call(self, *args: str) -> object:
        self.calls.append(args)
        return self.answer


def test_readiness_is_read_for_every_tenant_at_once() -> None:
    control = _Control({t: record(t) for t in ("TENANT_002", "TENANT_001")})
    read = read_readiness(control)  # type: ignore[arg-type]
    assert control.calls == [("readiness", "show")]
    assert list(read) == ["TENANT_001", "TENANT_002"]
    with pytest.raises(UnreachableError, match="breaks the contract"):
        read_readiness(_Control([1, 2]))  # type: ignore[arg-type]
    broken = record("TENANT_001")
    del broken["dr_enrolment"]
    with pytest.raises(UnreachableError, match="dr_enrolment"):
        read_readiness(_Control({"TENANT_001": broken}))  # type: ignore[arg-type]


def test_the_packaged_reader_agrees_with_icalendar(schedule: DrDrillSchedule) -> None:
    text = to_icalendar(schedule)
    read = ical.events(text)
    parsed = list(icalendar.Calendar.from_ical(text).walk("VEVENT"))
    assert [e["UID"] for e in read] == [str(e["UID"]) for e in parsed]
    assert [e["DTSTART"] for e in read] == [ical.utc_stamp(e.decoded("DTSTART")) for e in parsed]
    with pytest.raises(ValueError, match="over 75"):
        ical.content_lines("X:" + "a" * 80 + "\r\n")
    with pytest.raises(ValueError, match="bare CR or LF"):
        ical.content_lines("BEGIN:VCALENDAR\nEND:VCALENDAR\r\n")
    with pytest.raises(ValueError, match="end with CRLF"):
        ical.content_lines("BEGIN:VCALENDAR")
