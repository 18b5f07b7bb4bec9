"""Plan-time durations as people write them ("10m", "24h", "1h30m", "14d") and back.

Features and the QI catalog speak plan time (DESIGN §5); this module only converts between
that text and seconds. Mapping plan time to wall time is the profile's job, not this one's.
"""

from __future__ import annotations

import math
import re

from pytest_mc.errors import InputError

# A day as the plan means it ("14 consecutive days green"): 24h of plan time. A rehearsal
# may judge shorter days; everything that reports a day count says when they were shorter.
DAY_PLAN_SECONDS = 86_400.0
_UNIT_SECONDS: dict[str, int] = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[dhms])+")
_EXAMPLES = "'60s', '10m', '1h30m', '24h' or '14d'"


def parse_duration(text: str) -> float:
    """Return the number of seconds in a duration such as ``"10m"``, ``"1h30m"`` or ``"14d"``.

    Units are d, h, m and s, largest first, each at most once; a bare number is refused
    because "60" could mean seconds or minutes.
    """
    compact = text.strip().replace(" ", "").lower()
    if not compact or _WHOLE.fullmatch(compact) is None:
        raise InputError(f"cannot read duration {text!r}: write it like {_EXAMPLES}")
    parts = _PART.findall(compact)
    units = [unit for _, unit in parts]
    order = "dhms"
    if len(set(units)) != len(units) or units != sorted(units, key=order.index):
        raise InputError(
            f"cannot read duration {text!r}: give each unit once, largest first "
            f"(d, h, m, s), like {_EXAMPLES}"
        )
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise InputError(f"duration {text!r} is zero: a window must be longer than 0s")
    return seconds


def format_duration(seconds: float) -> str:
    """Write seconds the way the plan does: ``600 -> "10m"``, ``86400 -> "24h"``.

    Whole days are used only from two days up ("14d"), because the plan says "24h bake",
    not "1d bake"; fractions of a second are kept ("1.5s").
    """
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise InputError(f"cannot format duration {seconds!r}: need a finite number >= 0")
    if seconds == 0:
        return "0s"
    whole = int(seconds)
    fraction = seconds - whole
    if fraction == 0 and whole >= 2 * 86_400 and whole % 86_400 == 0:
        return f"{whole // 86_400}d"
    hours, rest = divmod(whole, 3_600)
    minutes, secs = divmod(rest, 60)
    text = ""
    if hours:
        text += f"{hours}h"
    if minutes:
        text += f"{minutes}m"
    if secs or fraction:
        text += f"{secs + fraction:g}s" if fraction else f"{secs}s"
    return text
