"""A region process really dies (SIGKILL): the GLB fails over, the surviving region serves the
A/A tenant, and removing the fault restarts the region, which catches up."""

from __future__ import annotations

import json
import time

import pytest
from staging_harness import Staging, pid_alive

pytestmark = pytest.mark.integration


def test_region_crash_fails_over_and_recovers(staging: Staging) -> None:
    tenant = "TENANT_002"
    pids_before = json.loads((staging.state_dir / "pids.json").read_text())
    victim = "eu-west"
    old_pid = pids_before[f"region-{victim}"]
    fault = staging.inject("region-crash", region=victim)
    staging.wait_for("region process to die", lambda: not pid_alive(old_pid))
    time.sleep(0.5)  # health checks mark the region down
    served: dict[str, int] = {}
    for index in range(40):
        response = staging.put(staging.glb, tenant, f"crash:{index}", str(index))
        assert response.status_code == 200, response.text
        region = response.headers["x-mc-region"]
        served[region] = served.get(region, 0) + 1
    assert served == {"eu-central": 40}
    glb = staging.mcj("glb", "status")
    assert {r["id"]: r["healthy"] for r in glb["regions"]}[victim] is False
    metrics = staging.client.get(f"{staging.glb}/metrics").text
    assert 'mc_glb_region_healthy{region="eu-west"} 0.0' in metrics

    removed = staging.mcj("faults", "remove", "--id", fault["id"])
    new_pid = removed["restarted_pid"]
    assert new_pid != old_pid
    assert pid_alive(new_pid)
    assert json.loads((staging.state_dir / "pids.json").read_text())[f"region-{victim}"] == new_pid

    def converged() -> bool:
        digests = {
            staging.internal(r, f"/internal/tenants/{tenant}/digest")["digest"]
            for r in ("eu-west", "eu-central")
        }
        return len(digests) == 1

    staging.wait_for("restarted region to catch up", converged)
    staging.wait_for(
        "GLB to see the region healthy again",
        lambda: {r["id"]: r["healthy"] for r in staging.mcj("glb", "status")["regions"]}[victim],
    )


def test_dr_failover_and_failback_of_an_ap_tenant(staging: Staging) -> None:
    tenant = "TENANT_004"
    before = staging.tenant_status(tenant)
    assert before["mode"] == "active-passive"
    primary = before["primary"]
    record = staging.mcj("dr", "failover", "--tenant", tenant)
    assert record["from"] == primary
    assert record["to"] != primary
    assert record["rto_wall_seconds"] is not None
    assert record["rto_wall_seconds"] < 5
    after = staging.tenant_status(tenant)
    assert after["primary"] == record["to"]
    response = staging.put(staging.glb, tenant, "dr:1", "v")
    assert response.status_code == 200
    assert response.headers["x-mc-region"] == record["to"]
    back = staging.mcj("dr", "failback", "--tenant", tenant)
    assert back["to"] == primary
    assert staging.tenant_status(tenant)["primary"] == primary
    assert len(staging.mcj("dr", "status", "--tenant", tenant)["records"]) == 2


def test_writes_journaled_while_no_region_serves_are_replayed_idempotently(
    staging: Staging,
) -> None:
    tenant = "TENANT_005"  # A/P, single serving region
    primary = staging.tenant_status(tenant)["primary"]
    other = "eu-central" if primary == "eu-west" else "eu-west"
    crash_primary = staging.inject("region-crash", region=primary)
    crash_other = staging.inject("region-crash", region=other)
    time.sleep(0.6)
    response = staging.client.post(
        f"{staging.glb}/v1/tenants/{tenant}/query",
        json={"id": "put_entity", "variables": {"key": "journal:1", "value": "kept"}},
        headers={"x-mc-purpose": "service", "idempotency-key": "op-journal-1"},
    )
    assert response.status_code == 503
    staging.mcj("faults", "remove", "--id", crash_other["id"])
    staging.mcj("faults", "remove", "--id", crash_primary["id"])

    def glb_sees(region: str) -> bool:
        metrics = staging.client.get(f"{staging.glb}/metrics").text
        return f'mc_glb_region_healthy{{region="{region}"}} 1.0' in metrics

    staging.wait_for(
        "GLB to see both regions healthy", lambda: glb_sees(primary) and glb_sees(other)
    )
    first = staging.mcj("ops", "replay", "--tenant", tenant)
    assert first["replayed"] == 1, first
    assert first["failed"] == 0
    again = staging.client.post(
        f"{staging.glb}/v1/tenants/{tenant}/query",
        json={"id": "put_entity", "variables": {"key": "journal:1", "value": "kept"}},
        headers={"x-mc-purpose": "service", "idempotency-key": "op-journal-1"},
    )
    assert again.json()["data"]["idempotent_replay"] is True
    assert staging.mcj("ops", "replay", "--tenant", tenant)["replayed"] == 0


def test_latency_fault_slows_the_region_and_removal_restores_it(staging: Staging) -> None:
    tenant, region = "TENANT_003", "eu-west"
    base = staging.region_url(region)
    get = {"id": "get_derived"}

    def slowest(count: int = 5) -> float:
        timings = []
        for _ in range(count):
            started = time.perf_counter()
            assert staging.query(base, tenant, get).status_code == 200
            timings.append(time.perf_counter() - started)
        return min(timings)

    fault = staging.inject("latency", tenant=tenant, region=region, params={"latency_ms": 150})
    assert slowest() >= 0.15
    staging.mcj("faults", "remove", "--id", fault["id"])
    assert slowest() < 0.15


def test_replication_partition_raises_lag_and_removal_converges(staging: Staging) -> None:
    tenant = "TENANT_002"
    west, central = staging.region_url("eu-west"), staging.region_url("eu-central")
    fault = staging.inject("replication-partition")

    def lag() -> float:
        state = staging.api("tripwires.status", tenant=tenant)["tenants"][tenant]
        return float(state["lag_wall_seconds"] or 0.0)

    staging.wait_for("lag to grow during the partition", lambda: lag() > 0.5)
    assert staging.put(west, tenant, "split:1", "west").status_code == 200
    assert staging.put(central, tenant, "split:2", "central").status_code == 200
    time.sleep(0.3)
    assert (
        staging.query(
            central, tenant, {"id": "get_entity", "variables": {"key": "split:1"}}
        ).status_code
        == 404
    )  # not replicated across the partition
    staging.mcj("faults", "remove", "--id", fault["id"])
    staging.wait_for("lag back to zero", lambda: lag() == 0.0)

    def converged() -> bool:
        digests = {
            staging.internal(r, f"/internal/tenants/{tenant}/digest")["digest"]
            for r in ("eu-west", "eu-central")
        }
        return len(digests) == 1

    staging.wait_for("regions to converge after the partition", converged)
    for other in ("TENANT_001", "TENANT_002", "TENANT_003", "TENANT_004", "TENANT_005"):
        staging.api("glb.unbias", tenant=other)
    assert staging.mc("status", "--json").code == 0
