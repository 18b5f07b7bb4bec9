"""The suite's derived-data check reads a region's base in one listing where the target gives
the values with the keys, and a read per key where it does not: the same base either way."""

from __future__ import annotations

import json

import httpx
import pytest
from two_regions import FIRST, PORTS, SECOND, two_region_profile

from pytest_mc.drivers.derived_data import DerivedDataReader, derive
from pytest_mc.errors import UnreachableError

BASE = {"orders:1": "abc", "orders:2": "de", "users:1": "f"}


class Region:
    """An in-memory data plane of both regions with BASE; `lists_values` says whether
    `list_entities` honours `values`, `drops` names a key listed without its value."""

    def __init__(self, *, lists_values: bool, drops: str | None = None) -> None:
        self.lists_values = lists_values
        self.drops = drops
        self.queries: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        region = PORTS[str(request.url.port)]
        body = json.loads(request.content)
        self.queries.append(body["id"])
        variables = body.get("variables") or {}
        data: dict[str, object]
        if body["id"] == "list_entities":
            data = {"keys": sorted(BASE)}
            if self.lists_values and variables.get("values") is True:
                data["values"] = {k: v for k, v in BASE.items() if k != self.drops}
        elif body["id"] == "get_entity":
            key = variables["key"]
            data = {"key": key, "value": BASE[key], "version": 1}
        else:
            data = derive(BASE)
        return httpx.Response(200, json={"data": data, "region": region})


@pytest.mark.parametrize("lists_values", [True, False], ids=["one-listing", "read-per-key"])
def test_the_base_is_the_same_whether_the_target_lists_values_or_not(lists_values: bool) -> None:
    region = Region(lists_values=lists_values)
    profile = two_region_profile("active-active")
    with DerivedDataReader(profile, transport=httpx.MockTransport(region)) as reader:
        checks = reader.check("T1", (FIRST, SECOND))
        base = reader.base_entities("T1", FIRST)
    assert base == BASE
    assert all(check.correct for check in checks)
    reads_per_key = region.queries.count("get_entity")
    assert reads_per_key == (0 if lists_values else 3 * len(BASE))


def test_a_key_listed_without_its_value_is_the_targets_fault() -> None:
    region = Region(lists_values=True, drops="users:1")
    profile = two_region_profile("active-active")
    with (
        DerivedDataReader(profile, transport=httpx.MockTransport(region)) as reader,
        pytest.raises(UnreachableError, match=r"listed 'users:1' without its value"),
    ):
        reader.base_entities("T1", FIRST)
