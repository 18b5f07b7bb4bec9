"""Property: no target profile, however broken, makes the suite trace back.

Generated from the committed schema (hypothesis-jsonschema), mutated from the profile the
reference staging writes, or damaged byte by byte: loading either succeeds or raises one
`ProfileError` line; `mc-verify run --target` and `mc-verify report ga-delta --target` exit 2
with one `error:` line. `run` is only ever given profiles that fail to load, so no generated
profile can start a rehearsal.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis_jsonschema import from_schema
from input_properties import (
    PropertyCounter,
    as_yaml,
    check_outcome,
    damaged_bytes,
    examples,
    mutated,
    paths,
)

from mc_staging.lifecycle import COMPONENTS
from mc_staging.profile import build_profile
from mc_staging.seed import seed_tenants
from mc_staging.statedir import StateDir
from pytest_mc.cli.main import main
from pytest_mc.errors import ProfileError
from pytest_mc.policy.catalog import QiCatalog, load_catalog
from pytest_mc.schemas import schema_path
from pytest_mc.target.loader import load_profile


class _StagingWithoutPorts(StateDir):
    """A staging state directory that is never created: its ports are made up."""

    def ports(self) -> dict[str, int]:
        return {component: 9 for component in COMPONENTS}


def _staging_profile() -> dict[str, object]:
    """The profile `mc-staging up` writes (built in memory, nothing is written)."""
    return build_profile(
        _StagingWithoutPorts("/nonexistent/mc-staging"), 600.0, 0.1, seed_tenants(0.0)
    )


def _committed_schema(name: str) -> dict[str, object]:
    schema: dict[str, object] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    schema.pop("$id")  # hypothesis-jsonschema resolves "#/$defs/..." only without a base URI
    return schema


CATALOG: QiCatalog = load_catalog()
STAGING_PROFILE = _staging_profile()
PROFILE_PATHS = paths(STAGING_PROFILE)


def _loads_or_refuses(path: Path) -> bool:
    """Load the profile: True if it loads, False if it is refused in one bounded line."""
    try:
        load_profile(path, CATALOG)
    except ProfileError as exc:
        message = str(exc)
        assert "\n" not in message
        assert len(message) <= 900, len(message)
        return False
    return True


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("profiles")


def test_the_staging_profile_the_properties_start_from_is_valid(work: Path) -> None:
    path = work / "valid.yaml"
    path.write_bytes(as_yaml(STAGING_PROFILE))
    assert _loads_or_refuses(path)


@examples(80)
@given(document=from_schema(_committed_schema("target-profile")))
def test_a_profile_generated_from_the_schema_loads_or_is_one_error_line(
    work: Path, tried: PropertyCounter, document: object
) -> None:
    path = work / "generated.yaml"
    path.write_bytes(as_yaml(document))
    tried.call(_loads_or_refuses, path)


@examples(300)
@given(document=mutated(STAGING_PROFILE, PROFILE_PATHS))
def test_a_mutated_profile_loads_or_is_one_error_line(
    work: Path, tried: PropertyCounter, document: object
) -> None:
    path = work / "mutated.yaml"
    path.write_bytes(as_yaml(document))
    tried.call(_loads_or_refuses, path)


@examples(400)
@given(data=damaged_bytes(as_yaml(STAGING_PROFILE)))
def test_a_damaged_profile_file_loads_or_is_one_error_line(
    work: Path, tried: PropertyCounter, data: bytes
) -> None:
    path = work / "damaged.yaml"
    path.write_bytes(data)
    tried.call(_loads_or_refuses, path)


@examples(100)
@given(document=mutated(STAGING_PROFILE, PROFILE_PATHS))
def test_run_with_a_bad_profile_exits_2_before_running_anything(
    work: Path,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    document: object,
) -> None:
    path = work / "run-target.yaml"
    path.write_bytes(as_yaml(document))
    if _loads_or_refuses(path):
        return  # a profile that loads would start a rehearsal: never handed to `run`
    capsys.readouterr()
    code = tried.call(main, ["run", "--target", str(path), "--out", str(work / "never-written")])
    check_outcome(code, capsys.readouterr().err, {2})
    assert not (work / "never-written").exists()


@examples(80)
@given(document=mutated(STAGING_PROFILE, PROFILE_PATHS))
def test_ga_delta_with_any_profile_exits_2_with_one_line(
    work: Path,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    document: object,
) -> None:
    path = work / "ga-delta-target.yaml"
    path.write_bytes(as_yaml(document))
    capsys.readouterr()
    args = ["report", "ga-delta", str(work / "no-bundle.json"), "-o", str(work / "out")]
    code = tried.call(main, [*args, "--target", str(path)])
    check_outcome(code, capsys.readouterr().err, {2})
