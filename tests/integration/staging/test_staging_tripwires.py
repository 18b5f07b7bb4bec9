"""Plan §A.3 tripwires against the running staging, with real traffic and real faults: each
fault trips its condition, the control plane performs the auto-action on its own, and removing
the fault restores health."""

from __future__ import annotations

import time

import pytest
from staging_harness import Staging

pytestmark = pytest.mark.integration


def _fault(staging: Staging, *args: str) -> str:
    return str(staging.mcj("faults", "inject", *args)["id"])


def _remove(staging: Staging, fault_id: str) -> None:
    staging.mcj("faults", "remove", "--id", fault_id)
    assert staging.mcj("faults", "list")["faults"] == [] or all(
        f["id"] != fault_id for f in staging.mcj("faults", "list")["faults"]
    )


def test_sustained_replication_delay_biases_glb_after_the_scaled_window(staging: Staging) -> None:
    tenant = "TENANT_002"
    with staging.traffic(tenant):
        time.sleep(0.5)
        lag = staging.mcj("tripwires", "status", "--tenant", tenant)["tenants"][tenant]
        assert lag["lag_wall_seconds"] * 600 < 60, "healthy lag must be inside the 1m gate"
        fault_record = staging.inject(
            "replication-delay", tenant=tenant, params={"delay_seconds": 0.3}
        )  # 180 plan s > 60
        fault, injected = fault_record["id"], fault_record["injected_at"]
        # poll the control API every 50 ms: the bias must not appear inside the window
        first_bias = staging.wait_for(
            "GLB bias",
            lambda: (
                time.time() if staging.api("tenant.status", tenant=tenant)["glb"]["bias"] else None
            ),
            every=0.05,
        )
        event = staging.wait_for(
            "lag tripwire event",
            lambda: [e for e in staging.events(tenant) if e["tripwire"] == "replication_lag"],
        )[0]
    assert event["action"] == "bias_glb"
    assert event["window_plan_seconds"] == pytest.approx(600.0)
    assert event["fired_at"] - event["condition_since"] >= event["window_wall_seconds"]
    assert event["fired_at"] - injected >= 1.0  # 10m plan at time scale 600
    assert first_bias - injected >= 1.0
    assert event["value"] > 60.0
    status = staging.tenant_status(tenant)
    healthy = event["result"].split()[-1]
    assert status["glb"]["bias"][healthy] == 100
    assert status["glb"]["weights"] == {healthy: 100}
    _remove(staging, fault)
    staging.mcj("glb", "unbias", "--tenant", tenant)

    def caught_up() -> bool:
        state = staging.mcj("tripwires", "status", "--tenant", tenant)["tenants"][tenant]
        return state["lag_wall_seconds"] * 600 < 60

    staging.wait_for("lag back under 60 plan s", caught_up)
    digests = {
        r: staging.internal(r, f"/internal/tenants/{tenant}/digest")["digest"]
        for r in ("eu-west", "eu-central")
    }
    assert len(set(digests.values())) == 1, digests


def test_conflict_storm_is_counted_and_rolls_the_tenant_back_to_ap(staging: Staging) -> None:
    tenant = "TENANT_003"
    assert staging.tenant_status(tenant)["mode"] == "active-active"
    fault = _fault(staging, "--kind", "conflict-storm", "--tenant", tenant)
    event = staging.wait_for(
        "conflict tripwire",
        lambda: [e for e in staging.events(tenant) if e["tripwire"] == "conflict_rate"],
        timeout=60.0,  # the 10m window must fill with storm writes: slow on a busy machine
    )[0]
    assert event["action"] == "rollback_to_ap"
    assert event["value"] > 0.001
    status = staging.tenant_status(tenant)
    assert status["mode"] == "active-passive"
    assert status["rollout"]["stage"] == "rolled-back"
    metrics = staging.client.get(f"{staging.region_url('eu-west')}/metrics").text
    conflicts = [
        line
        for line in metrics.splitlines()
        if line.startswith("mc_replication_conflicts_total") and f'tenant="{tenant}"' in line
    ]
    assert conflicts
    assert float(conflicts[0].rsplit(" ", 1)[1]) > 0
    _remove(staging, fault)

    def converged() -> bool:
        digests = {
            staging.internal(r, f"/internal/tenants/{tenant}/digest")["digest"]
            for r in ("eu-west", "eu-central")
        }
        return len(digests) == 1

    staging.wait_for("storm keys to converge", converged)


def test_non_persisted_burst_rolls_the_tenant_back_to_ap(staging: Staging) -> None:
    tenant = "TENANT_001"
    fault = _fault(staging, "--kind", "non-persisted-burst", "--tenant", tenant)
    event = staging.wait_for(
        "non-persisted tripwire",
        lambda: [e for e in staging.events(tenant) if e["tripwire"] == "non_persisted_rate"],
    )[0]
    assert event["action"] == "rollback_to_ap"
    assert staging.tenant_status(tenant)["mode"] == "active-passive"
    _remove(staging, fault)


def test_error_rate_drains_the_error_budget_and_pauses_the_rollout(staging: Staging) -> None:
    tenant = "TENANT_004"
    assert staging.tenant_status(tenant)["rollout"]["paused"] is False
    with staging.traffic(tenant) as counts:
        fault = _fault(staging, "--kind", "error-rate", "--tenant", tenant, "--param", "rate=0.2")
        event = staging.wait_for(
            "error budget tripwire",
            lambda: [e for e in staging.events(tenant) if e["tripwire"] == "error_budget"],
        )[0]
    assert counts.get("503", 0) > 0
    assert event["action"] == "pause_rollout"
    assert event["value"] < 0.6
    status = staging.tenant_status(tenant)
    assert status["rollout"]["paused"] is True
    assert "error_budget" in status["rollout"]["pause_reason"]
    refused = staging.mc("rollout", "resume", "--tenant", tenant)
    assert refused.code == 1
    assert "error budget" in refused.stderr
    _remove(staging, fault)
    staging.mcj("slo", "reset-budget", "--tenant", tenant)
    with staging.traffic(tenant) as after:
        time.sleep(1.0)
    assert after.get("503", 0) == 0
    assert after.get("200", 0) > 0
    assert staging.mcj("rollout", "resume", "--tenant", tenant)["rollout"]["paused"] is False


def test_residency_regression_is_a_violation_that_rolls_back_and_pages(staging: Staging) -> None:
    tenant = "TENANT_005"
    assert staging.mcj("dpo", "pages", "--tenant", tenant)["pages"] == []
    with staging.traffic(tenant):
        fault = _fault(
            staging, "--kind", "residency-regression", "--tenant", tenant, "--region", "us-east"
        )
        event = staging.wait_for(
            "residency tripwire",
            lambda: [e for e in staging.events(tenant) if e["tripwire"] == "residency_violation"],
        )[0]
        time.sleep(0.3)
        status = staging.tenant_status(tenant)
    assert event["action"] == "rollback_and_page_dpo"
    assert event["fired_at"] - event["condition_since"] < 0.5  # immediate
    assert status["rollout"]["stage"] == "rolled-back"
    assert "us-east" not in status["glb"]["weights"]
    pages = staging.mcj("dpo", "pages", "--tenant", tenant)["pages"]
    assert pages
    assert pages[0]["reason"] == "residency violation"
    stored = staging.internal("us-east", "/internal/stats?detail=1")["stored_tenants"]
    assert stored.get(tenant, 0) > 0  # the leak really stored data out of jurisdiction
    _remove(staging, fault)
    assert tenant not in staging.internal("us-east", "/internal/stats?detail=1")["stored_tenants"]
    denied = staging.put(staging.region_url("us-east"), tenant, "x:1", "v")
    assert denied.status_code == 451  # the gate is closed again


def test_all_faults_removed_leaves_a_healthy_staging(staging: Staging) -> None:
    assert staging.mcj("faults", "list")["faults"] == []
    status = staging.mc("status", "--json")
    assert status.code == 0, status.stderr
    assert status.json["healthy"] is True
    for tenant in ("TENANT_001", "TENANT_002"):
        assert staging.put(staging.glb, tenant, "final:1", "ok").status_code == 200
