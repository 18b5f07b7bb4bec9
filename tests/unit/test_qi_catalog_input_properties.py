"""Property: no QI catalog, however broken, makes `mc-verify qi show|verify` trace back.

Catalogs generated from the committed schema (hypothesis-jsonschema), mutated from the
shipped catalog, or damaged byte by byte: the command exits 0 (with at most `warning:` lines)
or 2 with one `error:` line of bounded length.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
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

from pytest_mc.cli.main import main
from pytest_mc.policy.catalog import DEFAULT_CATALOG_PATH
from pytest_mc.schemas import schema_path

SHIPPED_TEXT = DEFAULT_CATALOG_PATH.read_bytes()
SHIPPED = yaml.safe_load(SHIPPED_TEXT)
SHIPPED_PATHS = paths(SHIPPED)
COMMANDS = st.sampled_from([["qi", "show"], ["qi", "show", "--json"], ["qi", "verify"]])


def _catalog_schema() -> dict[str, object]:
    schema: dict[str, object] = json.loads(schema_path("qi-catalog").read_text(encoding="utf-8"))
    schema.pop("$id")  # hypothesis-jsonschema resolves "#/$defs/..." only without a base URI
    return schema


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("catalogs")


def run_qi(
    tried: PropertyCounter, capsys: pytest.CaptureFixture[str], command: list[str], path: Path
) -> None:
    capsys.readouterr()
    code = tried.call(main, [*command, "--catalog", str(path)])
    check_outcome(code, capsys.readouterr().err, {0, 2})


def test_the_shipped_catalog_the_properties_start_from_is_accepted(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = work / "shipped.yaml"
    path.write_bytes(SHIPPED_TEXT)
    assert main(["qi", "verify", "--catalog", str(path)]) == 0


@examples(80)
@given(document=from_schema(_catalog_schema()), command=COMMANDS)
def test_a_catalog_generated_from_the_schema_is_shown_or_refused_in_one_line(
    work: Path,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    document: object,
    command: list[str],
) -> None:
    path = work / "generated.yaml"
    path.write_bytes(as_yaml(document))
    run_qi(tried, capsys, command, path)


@examples(200)
@given(document=mutated(SHIPPED, SHIPPED_PATHS), command=COMMANDS)
def test_a_mutated_catalog_is_shown_or_refused_in_one_line(
    work: Path,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    document: object,
    command: list[str],
) -> None:
    path = work / "mutated.yaml"
    path.write_bytes(as_yaml(document))
    run_qi(tried, capsys, command, path)


@examples(250)
@given(data=damaged_bytes(SHIPPED_TEXT), command=COMMANDS)
def test_a_damaged_catalog_file_is_shown_or_refused_in_one_line(
    work: Path,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    data: bytes,
    command: list[str],
) -> None:
    path = work / "damaged.yaml"
    path.write_bytes(data)
    run_qi(tried, capsys, command, path)
