"""Bad values in a target profile: one bounded error line naming the field, never a traceback.

Booleans are not numbers, non-finite numbers are refused, nesting and size are bounded, and
the time-scale advice only suggests values a profile can take.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_mc.errors import ProfileError
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.target.loader import load_profile
from pytest_mc.target.profile import TargetProfile

PROFILE: dict[str, object] = {
    "name": "unit-staging",
    "environment": "staging",
    "allowed_hosts": ["127.0.0.1"],
    "time_scale": 600,
    "glb_url": "http://127.0.0.1:9",
    "metrics": {
        "sample_interval_seconds": 0.1,
        "endpoints": [{"component": "glb", "url": "http://127.0.0.1:9/metrics"}],
    },
    "regions": [{"id": "eu-west", "jurisdiction": "eu"}],
    "tenants": [
        {
            "id": "TENANT_004",
            "wave": "A",
            "residency": "eu",
            "regions": ["eu-west"],
            "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
        }
    ],
}


def load_text(tmp_path: Path, text: str | bytes) -> TargetProfile:
    path = tmp_path / "profile.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return load_profile(path, load_catalog())


def profile_text(**changes: object) -> str:
    return yaml.safe_dump({**PROFILE, **changes}, sort_keys=False)


def refusal(tmp_path: Path, text: str | bytes) -> str:
    with pytest.raises(ProfileError) as caught:
        load_text(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) <= 900
    return message


def test_a_boolean_time_scale_is_refused_instead_of_being_read_as_one(tmp_path: Path) -> None:
    message = refusal(tmp_path, profile_text(time_scale=True))
    assert "time_scale: a boolean is not a number (got True); give a number" in message


def test_an_integer_time_scale_is_still_a_number(tmp_path: Path) -> None:
    assert load_text(tmp_path, profile_text(time_scale=600)).time_scale == 600.0


@pytest.mark.parametrize("literal", [".inf", "-.inf", ".nan"])
def test_a_non_finite_time_scale_is_refused_as_not_finite(tmp_path: Path, literal: str) -> None:
    text = profile_text().replace("time_scale: 600", f"time_scale: {literal}")
    assert "time_scale: Input should be a finite number" in refusal(tmp_path, text)


def test_a_non_finite_sample_interval_is_refused(tmp_path: Path) -> None:
    text = profile_text().replace("sample_interval_seconds: 0.1", "sample_interval_seconds: .nan")
    assert "metrics.sample_interval_seconds: Input should be a finite number" in refusal(
        tmp_path, text
    )


def test_a_numeric_string_is_not_a_number(tmp_path: Path) -> None:
    assert "time_scale: Input should be a valid number (got '600')" in refusal(
        tmp_path, profile_text(time_scale="600")
    )


def test_a_control_timeout_over_a_day_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, profile_text(control={"timeout_seconds": 1e12}))
    assert "control.timeout_seconds: Input should be less than or equal to 86400" in message


def test_autonomy_pilot_one_is_not_a_flag(tmp_path: Path) -> None:
    tenants = [{**PROFILE["tenants"][0], "autonomy_pilot": 1}]  # type: ignore[index]
    assert "tenants[0].autonomy_pilot: Input should be a valid boolean" in refusal(
        tmp_path, profile_text(tenants=tenants)
    )


def test_a_profile_nested_500_deep_is_one_line_not_a_recursion_error(tmp_path: Path) -> None:
    message = refusal(tmp_path, "[" * 500)
    assert "nests mappings or lists more than 64 levels deep" in message


def test_a_field_nested_100_deep_is_refused_before_validation(tmp_path: Path) -> None:
    text = profile_text().replace("name: unit-staging", "name: " + "[" * 100 + "]" * 100)
    assert "more than 64 levels deep" in refusal(tmp_path, text)


def test_an_alias_that_refers_to_itself_is_refused(tmp_path: Path) -> None:
    text = profile_text().replace("name: unit-staging", "name: &loop [*loop]")
    assert "an alias refers to itself" in refusal(tmp_path, text)


def test_a_half_megabyte_value_is_quoted_to_about_200_characters(tmp_path: Path) -> None:
    message = refusal(tmp_path, profile_text(time_scale="x" * 500_000))
    assert "(500000 characters)" in message
    assert len(message) < 500


def test_a_half_megabyte_unknown_key_is_named_in_a_bounded_line(tmp_path: Path) -> None:
    message = refusal(tmp_path, profile_text(**{"k" * 500_000: 1}))
    assert "unknown field" in message
    assert len(message) < 600


def test_an_impossible_date_is_one_line(tmp_path: Path) -> None:
    text = profile_text().replace("name: unit-staging", "name: 2025-02-30")
    assert "a value in the target profile cannot be read: day is out of range" in refusal(
        tmp_path, text
    )


def test_a_five_thousand_digit_number_is_one_line(tmp_path: Path) -> None:
    text = profile_text().replace("time_scale: 600", "time_scale: " + "9" * 5000)
    assert "cannot be read: Exceeds the limit" in refusal(tmp_path, text)


def test_a_profile_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    message = refusal(tmp_path, b"name: caf\xe9\n")
    assert message.endswith("is not UTF-8 text (byte 9 is 0xe9); save it as UTF-8")


def test_a_directory_as_the_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="is not a file; point the target at"):
        load_profile(tmp_path, load_catalog())


def test_the_advice_never_suggests_a_time_scale_below_one(tmp_path: Path) -> None:
    metrics = {**PROFILE["metrics"], "sample_interval_seconds": 1000}  # type: ignore[dict-item]
    message = refusal(tmp_path, profile_text(time_scale=1, metrics=metrics))
    assert message.endswith(
        "use a sample interval <= 120s (no time_scale >= 1 leaves 5 samples at 1000s)"
    )
    assert "use time_scale <=" not in message
