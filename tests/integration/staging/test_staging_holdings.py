"""The holdings inventory of a real reference staging, and what it shows that reads cannot.

`GET /admin/holdings` (control plane, admin secret) lists what each region's database holds of
each tenant; the suite's `scan_outside` reads it for the regions outside a tenant's
jurisdiction. On the healthy staging a tenant's rows are in its own regions only (also after a
residency regression was removed under traffic); with `replication-leaks-outside` the region
outside holds them while its reads answer 451 and its violation counter stays 0.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pytest_mc.drivers.dataplane import DataPlaneClient
from pytest_mc.drivers.holdings import HoldingsClient, scan_outside, settle_replication
from pytest_mc.metrics.scrape import parse_exposition

pytestmark = pytest.mark.integration

TENANT = "TENANT_004"
OUTSIDE = "us-east"
LAG_WINDOW_WALL_SECONDS = 0.1  # 60 s plan at the staging's time scale of 600


def _holdings(staging: Any, **params: str) -> httpx.Response:
    return httpx.get(
        f"{staging.profile.admin.url}/admin/holdings",
        params=params,
        headers={"Authorization": f"Bearer {staging.admin_secret}"},
        timeout=10,
    )


def _write(client: DataPlaneClient, keys: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    written = [f"holdings:{run}:{index}" for index in range(keys)]
    for key in written:
        answer = client.put(TENANT, key, "v", op_id=f"{key}-op")
        assert answer.ok, answer.describe()
    return written


def _violations(staging: Any, region: str) -> float:
    url = next(
        e.url for e in staging.profile.metrics.endpoints if e.component == f"region-{region}"
    )
    samples = parse_exposition(httpx.get(url, timeout=10).text)
    return sum(
        s.value
        for s in samples
        if s.name == "mc_residency_violations_total" and s.labels.get("tenant") == TENANT
    )


def test_the_inventory_lists_a_tenants_rows_where_they_are_and_only_there(
    reference_staging: Any,
) -> None:
    profile = reference_staging.profile
    with DataPlaneClient(profile) as client:
        written = _write(client, 6)
        settle = settle_replication(
            client,
            TENANT,
            profile.tenant(TENANT).regions,
            lag_window_wall_seconds=LAG_WINDOW_WALL_SECONDS,
        )
    assert settle.problem() is None, settle
    assert settle.seen_on_peer_after_wall_seconds is not None
    assert settle.waited_wall_seconds >= LAG_WINDOW_WALL_SECONDS
    body = _holdings(reference_staging, tenant=TENANT).json()
    by_region = {entry["region"]: entry for entry in body["regions"]}
    assert sorted(by_region) == ["eu-central", "eu-west", "us-east"]
    for region in profile.tenant(TENANT).regions:
        entry = by_region[region]
        assert entry["reachable"] is True
        assert entry["jurisdiction"] == "eu"
        [held] = entry["tenants"]
        assert held["tenant"] == TENANT
        assert held["entities"] >= len(written) + 1  # and the settle marker
        assert held["rows"] == (
            held["entities"] + held["tombstones"] + held["derived"] + held["feed"]
        )
        digest = httpx.get(
            f"{next(r.url for r in profile.regions if r.id == region)}/internal/tenants/"
            f"{TENANT}/digest",
            headers={"Authorization": f"Bearer {reference_staging.admin_secret}"},
            timeout=10,
        ).json()
        assert held["digest"] == digest["digest"], region
    assert by_region[OUTSIDE] == {
        "region": OUTSIDE,
        "jurisdiction": "us",
        "reachable": True,
        "error": None,
        "tenants": [],
    }
    with HoldingsClient(profile) as holdings:
        scan = scan_outside(holdings, profile, TENANT)
    assert scan.regions_outside == (OUTSIDE,)
    assert scan.scanned == (OUTSIDE,)
    assert scan.problems() == []


def test_the_inventory_needs_the_admin_secret_and_a_known_region(reference_staging: Any) -> None:
    url = f"{reference_staging.profile.admin.url}/admin/holdings"
    assert httpx.get(url, timeout=10).status_code == 401
    unknown = _holdings(reference_staging, region="mars-1")
    assert unknown.status_code == 400
    assert "region 'mars-1' unknown: known regions are" in unknown.text
    one = _holdings(reference_staging, region=OUTSIDE).json()
    assert [entry["region"] for entry in one["regions"]] == [OUTSIDE]


def test_a_removed_residency_regression_leaves_no_copy_behind_under_traffic(
    reference_staging: Any,
) -> None:
    """The regression's remediation purges the copies only once the GLB stops leaking and
    the gate is closed everywhere: a write leaked in between would outlive the purge."""
    profile = reference_staging.profile
    admin = f"{profile.admin.url}/admin/faults"
    auth = {"Authorization": f"Bearer {reference_staging.admin_secret}"}
    tenant = "TENANT_005"
    with DataPlaneClient(profile) as client, HoldingsClient(profile) as holdings:
        fault = httpx.post(
            admin,
            json={"kind": "residency-regression", "tenant": tenant, "region": OUTSIDE},
            headers=auth,
            timeout=10,
        ).json()
        for round_ in range(3):  # writes in flight right up to the removal
            for index in range(20):
                client.put(tenant, f"regression:{round_}:{index}", "v")
        removal = httpx.delete(f"{admin}/{fault['id']}", headers=auth, timeout=30)
        assert removal.status_code == 200, removal.text
        for index in range(20):
            client.put(tenant, f"after:{index}", "v")
        time.sleep(LAG_WINDOW_WALL_SECONDS * 3)
        scan = scan_outside(holdings, profile, tenant)
    assert scan.problems() == []


def test_a_leaking_replication_is_seen_in_the_inventory_and_nowhere_else(
    staging_with_defect: Callable[[str], contextlib.AbstractContextManager[Any]],
) -> None:
    with staging_with_defect("replication-leaks-outside") as staging:
        profile = staging.profile
        with DataPlaneClient(profile) as client, HoldingsClient(profile) as holdings:
            written = _write(client, 5)
            settle = settle_replication(
                client,
                TENANT,
                profile.tenant(TENANT).regions,
                lag_window_wall_seconds=LAG_WINDOW_WALL_SECONDS,
            )
            read_outside = client.get(TENANT, written[0], via=OUTSIDE)
            listed_outside = client.list_keys(TENANT, via=OUTSIDE)
            scan = scan_outside(holdings, profile, TENANT)
        violations = _violations(staging, OUTSIDE)
    assert settle.problem() is None
    # what a data-plane check sees: the gate denies, the counter says nothing happened
    assert (read_outside.status, read_outside.error) == (451, "residency_denied")
    assert (listed_outside.status, listed_outside.error) == (451, "residency_denied")
    assert violations == 0
    # what the inventory sees
    [outside] = scan.held
    assert outside.region == OUTSIDE
    assert outside.held.entities >= len(written) + 1
    [problem] = scan.problems()
    assert problem.startswith(f"{OUTSIDE} (jurisdiction us) holds {outside.held.rows} rows of ")
    assert f"rows of {TENANT} (" in problem
