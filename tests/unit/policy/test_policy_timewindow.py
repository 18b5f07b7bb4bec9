"""Plan-time durations: reading "10m"/"1h30m"/"14d" and writing them back."""

from __future__ import annotations

import pytest

from pytest_mc.errors import InputError
from pytest_mc.policy.timewindow import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60s", 60),
        ("10m", 600),
        ("1h", 3600),
        ("24h", 86400),
        ("1h30m", 5400),
        ("14d", 1_209_600),
        ("1d2h3m4s", 93_784),
        (" 6H ", 21_600),
        ("1.5h", 5400),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "10x", "m10", "ten minutes", "1h-5m"])
def test_parse_duration_refuses_unreadable_text(text: str) -> None:
    with pytest.raises(InputError) as excinfo:
        parse_duration(text)
    assert str(excinfo.value) == (
        f"cannot read duration {text!r}: write it like '60s', '10m', '1h30m', '24h' or '14d'"
    )


@pytest.mark.parametrize("text", ["30m1h", "1h1h"])
def test_parse_duration_wants_each_unit_once_largest_first(text: str) -> None:
    with pytest.raises(InputError, match=r"give each unit once, largest first"):
        parse_duration(text)


def test_parse_duration_refuses_zero() -> None:
    with pytest.raises(InputError, match=r"^duration '0m' is zero: a window must be longer"):
        parse_duration("0m")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m"),
        (600, "10m"),
        (3600, "1h"),
        (5400, "1h30m"),
        (3661, "1h1m1s"),
        (28_800, "8h"),
        (86_400, "24h"),
        (90_000, "25h"),
        (172_800, "2d"),
        (1_209_600, "14d"),
        (1.5, "1.5s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [600, 5400, 86_400, 1_209_600, 93_784])
def test_format_then_parse_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("seconds", [-1.0, float("nan"), float("inf")])
def test_format_duration_refuses_impossible_values(seconds: float) -> None:
    with pytest.raises(InputError, match=r"need a finite number >= 0"):
        format_duration(seconds)
