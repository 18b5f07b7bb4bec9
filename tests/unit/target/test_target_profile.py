"""Target profile loading: located one-line errors, consistency, time scale."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_mc.errors import ProfileError
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.target.loader import load_profile
from pytest_mc.target.profile import TargetProfile

VALID: dict[str, object] = {
    "name": "unit-staging",
    "environment": "staging",
    "allowed_hosts": ["127.0.0.1"],
    "time_scale": 600,
    "glb_url": "http://127.0.0.1:9",
    "metrics": {
        "source": "scrape",
        "sample_interval_seconds": 0.1,
        "endpoints": [{"component": "glb", "url": "http://127.0.0.1:9/metrics"}],
    },
    "regions": [
        {"id": "eu-west", "jurisdiction": "eu"},
        {"id": "eu-central", "jurisdiction": "eu"},
        {"id": "us-east", "jurisdiction": "us"},
    ],
    "tenants": [
        {
            "id": "TENANT_004",
            "wave": "A",
            "residency": "eu",
            "regions": ["eu-west", "eu-central"],
            "slo_baseline": {"availability": 0.999, "latency_p95_ms": 250},
        }
    ],
}


def write(tmp_path: Path, data: object, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load(path: Path) -> TargetProfile:
    return load_profile(path, load_catalog())


def with_changes(**changes: object) -> dict[str, object]:
    return {**VALID, **changes}


def test_valid_profile_loads_as_a_rehearsal(tmp_path: Path) -> None:
    profile = load(write(tmp_path, VALID))
    assert profile.tenant("TENANT_004").regions == ("eu-west", "eu-central")
    assert profile.is_rehearsal


def test_real_time_profile_is_not_a_rehearsal(tmp_path: Path) -> None:
    profile = load(write(tmp_path, with_changes(time_scale=1)))
    assert not profile.is_rehearsal


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        ProfileError,
        match=r"target profile not found: .*nope\.yaml; point the target at an existing profile",
    ):
        load(tmp_path / "nope.yaml")


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: ok\nregions: [a\n")
    with pytest.raises(ProfileError) as caught:
        load(path)
    message = str(caught.value)
    assert f"{path}:3:1: malformed YAML" in message
    assert "\n" not in message


def test_unknown_field_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, with_changes(colour="blue"))
    with pytest.raises(
        ProfileError, match=r"profile\.yaml:\d+: invalid target profile: colour: unknown field"
    ):
        load(path)


def test_wrong_type_names_the_field_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, with_changes(time_scale="fast"))
    with pytest.raises(ProfileError, match=r"time_scale: .*\(got 'fast'\)"):
        load(path)


def test_nested_wrong_value_names_the_dotted_path(tmp_path: Path) -> None:
    tenants = [{**VALID["tenants"][0], "wave": "C"}]  # type: ignore[index]
    path = write(tmp_path, with_changes(tenants=tenants))
    with pytest.raises(ProfileError, match=r"tenants\[0\]\.wave: .*\(got 'C'\)"):
        load(path)


def test_tenant_outside_its_jurisdiction_is_refused(tmp_path: Path) -> None:
    tenants = [{**VALID["tenants"][0], "regions": ["eu-west", "us-east"]}]  # type: ignore[index]
    path = write(tmp_path, with_changes(tenants=tenants))
    with pytest.raises(ProfileError, match="placed in region 'us-east' of jurisdiction 'us'"):
        load(path)


def test_unknown_region_is_refused(tmp_path: Path) -> None:
    tenants = [{**VALID["tenants"][0], "regions": ["eu-north"]}]  # type: ignore[index]
    with pytest.raises(ProfileError, match="names region 'eu-north', which is not in regions"):
        load(write(tmp_path, with_changes(tenants=tenants)))


def test_time_scale_that_squeezes_a_window_below_five_samples_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, with_changes(time_scale=6000))
    with pytest.raises(ProfileError) as caught:
        load(path)
    assert str(caught.value) == (
        f"target profile {path}: time_scale 6000 shrinks the 10m window of "
        "tripwire_replication_lag to 0.1s wall, fewer than 5 samples at "
        "metrics.sample_interval_seconds 0.1; use time_scale <= 1200 or a sample interval "
        "<= 0.02s"
    )


def test_the_suggested_time_scale_is_accepted(tmp_path: Path) -> None:
    assert load(write(tmp_path, with_changes(time_scale=1200))).time_scale == 1200
