"""Numbers written in features, checked against the QI catalog.

A feature may say "replication lag ≤ 1m" for readability, but the number that judges is
the catalog's. `check_stated` reads the feature's text in the QI's unit and refuses any
difference, naming both values, so a feature can never silently drift from the catalog.
"""

from __future__ import annotations

import math
import re

from pytest_mc.errors import InputError
from pytest_mc.policy.catalog import QiDefinition
from pytest_mc.policy.timewindow import format_duration, parse_duration

_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")


class StatedNumberMismatch(InputError):
    """A feature states a number that differs from the QI catalog."""


def stated_value(qi: QiDefinition, text: str) -> float:
    """The value `text` states, in the QI's catalog unit."""
    if qi.unit == "seconds":
        return parse_duration(text)
    if qi.unit == "days":
        stripped = text.strip().removesuffix("days").removesuffix("day").strip()
        return (
            parse_duration(f"{stripped}d") / 86_400 if _NUMBER.match(stripped) else _bad(qi, text)
        )
    percent = _PERCENT.match(text)
    if percent is not None and qi.unit in ("fraction", "ratio"):
        return float(percent.group(1)) / 100
    number = _NUMBER.match(text)
    if number is not None:
        return float(number.group(1))
    return _bad(qi, text)


def check_stated(qi: QiDefinition, text: str, *, where: str = "the feature") -> float:
    """Return the catalog's target after checking that `text` states the same number."""
    value = stated_value(qi, text)
    if not math.isclose(value, qi.target, rel_tol=1e-9, abs_tol=1e-12):
        raise StatedNumberMismatch(
            f"{where} states {text.strip()!r} for {qi.id}, but the QI catalog says "
            f"{qi.comparator} {describe_target(qi)}; fix the feature (the catalog is frozen)"
        )
    return qi.target


def describe_target(qi: QiDefinition) -> str:
    """The catalog target as a person would write it: 1m, 99.9%, 0.05%, 14 days, 0."""
    if qi.unit == "seconds":
        return format_duration(qi.target)
    if qi.unit == "days":
        return f"{qi.target:g} days"
    if qi.unit == "fraction":
        return f"{qi.target * 100:g}%"
    return f"{qi.target:g}"


def _bad(qi: QiDefinition, text: str) -> float:
    examples = {
        "seconds": "'60s' or '1m'",
        "fraction": "'99.9%' or '0.05%'",
        "ratio": "'80%' or '1'",
        "count": "'0'",
        "days": "'14 days'",
    }[qi.unit]
    raise InputError(
        f"cannot read {text!r} as a value of {qi.id} ({qi.unit}); write it like {examples}"
    )
