"""The committed JSON Schemas are exactly what the models generate, with stable ids."""

from __future__ import annotations

import json

import jsonschema
import pytest

from pytest_mc import schemas

NAMES = (
    "target-profile",
    "qi-catalog",
    "evidence-record",
    "evidence-bundle",
    "dsse-envelope",
    "ga-delta-report",
    "dr-drill-schedule",
    "grafana-dashboard",
    "dod-report",
    "week5-decision",
)


@pytest.mark.parametrize("name", NAMES)
def test_committed_schema_matches_its_model(name: str) -> None:
    committed = json.loads(schemas.schema_path(name).read_text())
    assert committed == schemas.generate(name), (
        f"schemas/{name}.schema.json drifted from its model; regenerate with "
        "`python -m pytest_mc.schemas schemas` and review the diff"
    )


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_2020_12_with_a_stable_id(name: str) -> None:
    committed = json.loads(schemas.schema_path(name).read_text())
    assert committed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert committed["$id"] == f"urn:pytest-mc:schema:{name}:1"
    jsonschema.Draft202012Validator.check_schema(committed)


def test_every_schema_in_the_directory_is_generated() -> None:
    on_disk = {p.name.removesuffix(".schema.json") for p in schemas.schema_dir().glob("*.json")}
    assert on_disk == set(NAMES)
