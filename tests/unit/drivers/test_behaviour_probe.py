"""The behaviour probes against an in-memory A/P data plane: what may and may not appear on
the passive region, and the split as the answers tell it."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from two_regions import FIRST, PORTS, SECOND, two_region_profile

from pytest_mc.drivers.behaviour_probe import probe_passive_writes, sample_split
from pytest_mc.drivers.dataplane import DataPlaneClient

ACTIVE, PASSIVE = FIRST, SECOND
PROFILE = two_region_profile("active-passive")


class FakeAp:
    """Two regions of an A/P tenant; the active one replicates each write at once."""

    def __init__(self, *, passive: str = "refuses", glb_to: str = ACTIVE) -> None:
        self.passive = passive  # "refuses" | "takes" | "redirects" | "refuses-but-keeps"
        self.glb_to = glb_to
        self.stores: dict[str, dict[str, tuple[str, int]]] = {ACTIVE: {}, PASSIVE: {}}
        self.version = 0

    def _commit(self, region: str, key: str, value: str, *, replicate: bool) -> httpx.Response:
        self.version += 1
        self.stores[region][key] = (value, self.version)
        if replicate:
            self.stores[PASSIVE][key] = (value, self.version)
        body = {"data": {"key": key, "version": self.version}, "region": region}
        return httpx.Response(200, json=body, headers={"X-MC-Region": region})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        via = PORTS[str(request.url.port)]
        region = self.glb_to if via == "glb" else via
        body = json.loads(request.content)
        key = str(body["variables"].get("key", ""))
        if body["id"] == "get_entity":
            held = self.stores[region].get(key)
            if held is None:
                error = {"error": "not_found", "message": key}
                return httpx.Response(404, json=error, headers={"X-MC-Region": region})
            data = {"key": key, "value": held[0], "version": held[1]}
            return httpx.Response(200, json={"data": data, "region": region})
        if body["id"] == "list_entities":
            return httpx.Response(200, json={"data": {"keys": []}, "region": region})
        value = str(body["variables"]["value"])
        if region == ACTIVE:
            return self._commit(ACTIVE, key, value, replicate=True)
        if self.passive == "takes":
            return self._commit(PASSIVE, key, value, replicate=False)
        if self.passive == "redirects":
            return self._commit(ACTIVE, key, value, replicate=True)
        if self.passive == "refuses-but-keeps":
            self._commit(PASSIVE, key, value, replicate=False)
        error = {"error": "not_primary", "message": "A/P"}
        return httpx.Response(409, json=error, headers={"X-MC-Region": PASSIVE})


def _probe(fake: Callable[[httpx.Request], httpx.Response]) -> list[str]:
    with DataPlaneClient(PROFILE, transport=httpx.MockTransport(fake)) as client:
        report = probe_passive_writes(
            client,
            "T1",
            active=ACTIVE,
            passive=PASSIVE,
            lag_window_wall_seconds=0.0,
            poll_wall_seconds=0.0,
        )
    assert report.marker_replicated_after_wall_seconds is not None
    return report.problems()


@pytest.mark.parametrize("passive", ["refuses", "redirects"])
def test_a_passive_region_that_refuses_or_redirects_passes(passive: str) -> None:
    # replicated copies of the active region's writes are allowed on the passive side
    assert _probe(FakeAp(passive=passive)) == []


def test_a_passive_region_that_takes_writes_fails_naming_the_write() -> None:
    problems = _probe(FakeAp(passive="takes"))
    assert len(problems) == 5
    assert "sent to eu-b was accepted (200 via eu-b (served by eu-b))" in problems[0]
    assert "not refused or redirected to eu-a" in problems[0]


def test_a_refusal_that_keeps_the_write_fails() -> None:
    problems = _probe(FakeAp(passive="refuses-but-keeps"))
    assert len(problems) == 5
    assert (
        "was refused (409 not_primary via eu-b (served by eu-b)) but landed in eu-b"
        in (problems[0])
    )


def test_glb_writes_served_by_the_passive_region_fail() -> None:
    problems = _probe(FakeAp(passive="takes", glb_to=PASSIVE))
    glb = [p for p in problems if "through the GLB" in p]
    assert len(glb) == 5
    assert "was served by eu-b, not the active eu-a" in glb[0]


def test_the_split_counts_the_serving_region_each_answer_names() -> None:
    answers = iter([ACTIVE, PASSIVE, ACTIVE, "none"])

    def handler(_request: httpx.Request) -> httpx.Response:
        region = next(answers)
        body = {"data": {"keys": []}, "region": None if region == "none" else region}
        return httpx.Response(200, json=body, headers={"X-MC-Region": region})

    with DataPlaneClient(PROFILE, transport=httpx.MockTransport(handler)) as client:
        sample = sample_split(client, "T1", requests=4)
    assert sample.served_by == {ACTIVE: 2, PASSIVE: 1}
    assert sample.unknown == 1
    assert sample.known == 3
