"""The holdings driver against in-memory targets: the inventory read, the scan's verdicts and
messages, and the replication settle's wait (on a fake clock)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from two_regions import two_region_profile

from pytest_mc.drivers.dataplane import DataPlaneClient
from pytest_mc.drivers.holdings import HoldingsClient, scan_outside, settle_replication
from pytest_mc.errors import ProfileError, UnreachableError
from pytest_mc.target.profile import TargetProfile

SECRET = "s3cret"


def _profile(tmp_path: Path, *, admin: bool = True) -> TargetProfile:
    """T1 on the two EU regions, a US region outside its jurisdiction, and the admin API."""
    token = tmp_path / "admin.token"
    token.write_text(SECRET)
    return two_region_profile("active-active", outside=True, admin_token=token if admin else None)


def _inventory(held: dict[str, object] | None, *, reachable: bool = True) -> httpx.MockTransport:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("authorization") != f"Bearer {SECRET}":
            return httpx.Response(401, json={"error": "unauthorized"})
        region = request.url.params["region"]
        entry = {
            "region": region,
            "jurisdiction": "us",
            "reachable": reachable,
            "error": None if reachable else "ConnectError",
            "tenants": [held] if held else [],
        }
        return httpx.Response(
            200, json={"tenant": request.url.params["tenant"], "regions": [entry]}
        )

    transport = httpx.MockTransport(answer)
    transport.seen = seen  # type: ignore[attr-defined]
    return transport


LEAKED = {
    "tenant": "T1",
    "rows": 7,
    "entities": 6,
    "tombstones": 0,
    "derived": 0,
    "feed": 1,
    "digest": "ab",
    "sample_keys": ["k1", "k2", "k3", "k4"],
}


def test_a_clean_region_outside_passes_after_one_request_per_region(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    transport = _inventory(None)
    with HoldingsClient(profile, transport=transport) as client:
        scan = scan_outside(client, profile, "T1")
    assert scan.regions_outside == ("us-a",)
    assert scan.scanned == ("us-a",)
    assert scan.problems() == []
    assert scan.rows_outside == 0
    [request] = transport.seen  # type: ignore[attr-defined]
    assert dict(request.url.params) == {"region": "us-a", "tenant": "T1"}


def test_rows_held_outside_fail_naming_region_tenant_and_count(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    with HoldingsClient(profile, transport=_inventory(LEAKED)) as client:
        scan = scan_outside(client, profile, "T1")
    assert scan.rows_outside == 7
    assert scan.problems() == [
        "us-a (jurisdiction us) holds 7 rows of T1 (6 entities, 0 tombstones, 0 derived, "
        "1 feed entries; e.g. 'k1', 'k2', 'k3')"
    ]


def test_an_unreachable_region_outside_is_not_a_pass(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    with HoldingsClient(profile, transport=_inventory(None, reachable=False)) as client:
        scan = scan_outside(client, profile, "T1")
    assert scan.scanned == ()
    assert scan.problems() == [
        "the inventory of us-a could not be read (ConnectError): a region not scanned proves "
        "nothing"
    ]


def test_an_inventory_outside_the_contract_is_the_targets_fault(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    missing = httpx.MockTransport(lambda _r: httpx.Response(404, text="no such route"))
    with (
        HoldingsClient(profile, transport=missing) as client,
        pytest.raises(UnreachableError) as err,
    ):
        client.read(region="us-a", tenant="T1")
    assert "answered HTTP 404" in str(err.value)
    assert "requires GET /admin/holdings" in str(err.value)
    assert SECRET not in str(err.value)


def test_no_admin_section_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"holdings inventory .* add admin\.url"):
        HoldingsClient(_profile(tmp_path, admin=False))


class FakePlane:
    """GLB writes land on eu-a; eu-b serves a key `delay` fake seconds after its write."""

    def __init__(self, clock: list[float], delay: float | None) -> None:
        self.clock = clock
        self.delay = delay
        self.written: dict[str, float] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        key = str(body["variables"]["key"])
        if body["id"] == "put_entity":
            self.written[key] = self.clock[0]
            return httpx.Response(200, json={"data": {"key": key}, "region": "eu-a"})
        at = self.written.get(key)
        if at is None or self.delay is None or self.clock[0] - at < self.delay:
            return httpx.Response(404, json={"error": "not_found", "message": key})
        return httpx.Response(200, json={"data": {"key": key, "value": key}, "region": "eu-b"})


def _settle(tmp_path: Path, delay: float | None) -> object:
    clock = [0.0]
    plane = FakePlane(clock, delay)

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    with DataPlaneClient(_profile(tmp_path), transport=httpx.MockTransport(plane)) as client:
        return settle_replication(
            client,
            "T1",
            ("eu-a", "eu-b"),
            lag_window_wall_seconds=0.1,
            poll_wall_seconds=0.01,
            timeout_wall_seconds=1.0,
            clock=lambda: clock[0],
            sleep=sleep,
        )


def test_the_settle_waits_for_the_peer_then_one_lag_window(tmp_path: Path) -> None:
    settle = _settle(tmp_path, delay=0.05)
    assert settle.problem() is None  # type: ignore[attr-defined]
    assert settle.peer == "eu-b"  # type: ignore[attr-defined]
    seen = settle.seen_on_peer_after_wall_seconds  # type: ignore[attr-defined]
    assert seen == pytest.approx(0.05, abs=0.011)
    assert settle.waited_wall_seconds == pytest.approx(seen + 0.1)  # type: ignore[attr-defined]


def test_a_peer_that_never_gets_the_marker_fails_the_settle(tmp_path: Path) -> None:
    settle = _settle(tmp_path, delay=None)
    problem = settle.problem()  # type: ignore[attr-defined]
    assert problem is not None
    assert "never reached T1's peer eu-b" in problem
    assert "replication is stopped" in problem
