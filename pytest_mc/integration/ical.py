"""iCalendar (RFC 5545) text: content lines, TEXT escaping, folding at 75 octets, CRLF.

Only what the DR drill calendar needs: a VCALENDAR of VEVENTs with UTC date-times. Lines are
folded at 75 octets of UTF-8 (a multi-byte character is never split) with CRLF and one space
(§3.1); TEXT values escape backslash, semicolon, comma and newline (§3.3.11).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

CRLF = "\r\n"
MAX_OCTETS = 75


def escape_text(value: str) -> str:
    """A TEXT property value (RFC 5545 §3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def utc_stamp(moment: datetime) -> str:
    """A DATE-TIME in UTC form (`20261208T100000Z`); naive times are refused."""
    if moment.tzinfo is None:
        raise ValueError(f"iCalendar times must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """One content line folded into 75-octet physical lines joined by CRLF + space."""
    parts: list[str] = []
    current = ""
    used = 0
    limit = MAX_OCTETS
    for character in line:
        size = len(character.encode("utf-8"))
        if used + size > limit:
            parts.append(current)
            current, used = "", 0
            limit = MAX_OCTETS - 1  # the leading space of a continuation line is an octet
        current += character
        used += size
    parts.append(current)
    return (CRLF + " ").join(parts)


@dataclass(frozen=True)
class Event:
    """A VEVENT with the properties a calendar needs to import and update it by UID."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    categories: Sequence[str] = ()
    sequence: int = 0
    extra: Sequence[tuple[str, str]] = field(default_factory=tuple)

    def lines(self, stamp: datetime) -> list[str]:
        out = [
            "BEGIN:VEVENT",
            f"UID:{escape_text(self.uid)}",
            f"DTSTAMP:{utc_stamp(stamp)}",
            f"DTSTART:{utc_stamp(self.start)}",
            f"DTEND:{utc_stamp(self.end)}",
            f"SUMMARY:{escape_text(self.summary)}",
        ]
        if self.description:
            out.append(f"DESCRIPTION:{escape_text(self.description)}")
        if self.categories:
            out.append("CATEGORIES:" + ",".join(escape_text(c) for c in self.categories))
        out += [f"SEQUENCE:{self.sequence}", "STATUS:CONFIRMED", "TRANSP:OPAQUE"]
        out += [f"{name}:{escape_text(value)}" for name, value in self.extra]
        out.append("END:VEVENT")
        return out


def calendar(events: Sequence[Event], *, product_id: str, name: str, stamp: datetime) -> str:
    """A whole VCALENDAR object: every content line folded, every line ended by CRLF."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{product_id}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines += event.lines(stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)


def content_lines(text: str) -> list[str]:
    """The unfolded content lines of calendar text, refusing what RFC 5545 does not allow:
    a line not ended by CRLF, a bare CR or LF, or a physical line over 75 octets."""
    if not text.endswith(CRLF):
        raise ValueError("iCalendar text must end with CRLF")
    logical: list[str] = []
    for number, physical in enumerate(text[: -len(CRLF)].split(CRLF), start=1):
        if "\r" in physical or "\n" in physical:
            raise ValueError(f"line {number}: bare CR or LF inside a content line")
        if len(physical.encode("utf-8")) > MAX_OCTETS:
            raise ValueError(f"line {number}: {len(physical.encode())} octets, over 75")
        if physical.startswith((" ", "\t")):
            if not logical:
                raise ValueError(f"line {number}: continuation line with nothing to continue")
            logical[-1] += physical[1:]
        else:
            logical.append(physical)
    return logical


def events(text: str) -> list[dict[str, str]]:
    """Each VEVENT's properties (name → raw value, parameters dropped), in file order."""
    found: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in content_lines(text):
        name_part, _, value = line.partition(":")
        name = name_part.split(";", 1)[0].upper()
        if (name, value) == ("BEGIN", "VEVENT"):
            current = {}
        elif (name, value) == ("END", "VEVENT") and current is not None:
            found.append(current)
            current = None
        elif current is not None:
            current[name] = value
    return found
