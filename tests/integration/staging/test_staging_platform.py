"""Lifecycle, profile, loopback binding, data-plane gates, replication and conflicts, rollout
state machine, bad input (exit 2), unreachable (exit 3) and the admin API's authentication."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from staging_harness import (
    MC_STAGING,
    Staging,
    pid_alive,
    start_staging,
    stop_staging,
)

pytestmark = pytest.mark.integration

PROFILE_KEYS = {
    "name",
    "environment",
    "allowed_hosts",
    "time_scale",
    "control",
    "glb_url",
    "admin",
    "metrics",
    "regions",
    "tenants",
    "k6",
    "chaos",
}


def _listening_addresses(pid: int) -> list[str]:
    """Local addresses of the TCP sockets ``pid`` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    addresses = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                addresses.append(fields[1].split(":")[0])
    return addresses


def test_profile_shape_and_loopback_only(staging: Staging) -> None:
    profile = staging.profile
    assert set(profile) == PROFILE_KEYS
    assert profile["time_scale"] == 600
    assert profile["environment"] == "staging"
    assert profile["control"]["command"][1:] == ["--state-dir", str(staging.state_dir)]
    assert Path(profile["control"]["command"][0]).is_absolute()
    assert Path(profile["admin"]["token_file"]).stat().st_mode & 0o777 == 0o600
    jurisdictions = [r["jurisdiction"] for r in profile["regions"]]
    assert jurisdictions.count("eu") == 2
    assert len(jurisdictions) == 3
    waves = {t["id"]: (t["wave"], t["mode"]) for t in profile["tenants"]}
    assert waves["TENANT_001"] == ("ga", "active-active")
    assert waves["TENANT_004"] == ("A", "active-passive")
    assert waves["TENANT_005"] == ("B", "active-passive")
    assert [t["id"] for t in profile["tenants"] if t["autonomy_pilot"]] == ["TENANT_001"]
    assert len(profile["metrics"]["endpoints"]) == 5
    for endpoint in profile["metrics"]["endpoints"]:
        assert staging.client.get(endpoint["url"]).text.count("# TYPE mc_") > 3
    for component, pid in staging.pids.items():
        addresses = _listening_addresses(pid)
        assert addresses, component
        assert set(addresses) == {"0100007F"}, f"{component} listens on {addresses}"


def test_admin_api_requires_the_secret(staging: Staging) -> None:
    admin = staging.profile["admin"]["url"]
    assert staging.client.get(f"{admin}/admin/faults").status_code == 401
    assert (
        staging.client.post(
            f"{admin}/admin/faults",
            json={"kind": "latency"},
            headers={"authorization": "Bearer wrong"},
        ).status_code
        == 401
    )
    assert staging.client.post(f"{admin}/api/tenant.list").status_code == 401
    region = staging.region_url("eu-west")
    assert staging.client.get(f"{region}/internal/feed").status_code == 401
    assert staging.client.post(f"{region}/admin/crash").status_code == 401
    assert pid_alive(staging.pids["region-eu-west"])


def test_data_plane_gates(staging: Staging) -> None:
    eu, us, glb = staging.region_url("eu-west"), staging.region_url("us-east"), staging.glb
    assert staging.put(glb, "TENANT_002", "gate:1", "v").status_code == 200
    get = {"id": "get_entity", "variables": {"key": "gate:1"}}
    assert staging.query(glb, "TENANT_002", get, purpose=None).status_code == 403
    assert staging.query(glb, "TENANT_002", get, purpose="marketing").status_code == 403
    assert staging.query(us, "TENANT_002", get).status_code == 451
    assert staging.query(glb, "TENANT_002", {"query": "get gate:1"}).status_code == 403
    assert staging.query(glb, "TENANT_404", get).status_code == 404
    staging.mcj(
        "flags", "set", "--tenant", "TENANT_002", "--flag", "persisted-only", "--value", "false"
    )
    adhoc = staging.query(eu, "TENANT_002", {"query": "get gate:1"})
    assert adhoc.status_code == 200
    assert adhoc.json()["data"]["value"] == "v"
    staging.mcj("flags", "persisted-only", "--tenant", "TENANT_002", "--enable")
    metrics = staging.client.get(f"{eu}/metrics").text
    assert 'mc_non_persisted_requests_total{region="eu-west",tenant="TENANT_002"}' in metrics
    assert "mc_residency_denials_total" in staging.client.get(f"{us}/metrics").text
    # the hot-key cache serves repeated reads; the TTL auto-tune flag is a real switch
    for _ in range(5):
        staging.query(eu, "TENANT_002", get)
    assert 'result="hit"' in staging.client.get(f"{eu}/metrics").text
    flags = staging.mcj("flags", "ttl-autotune", "--tenant", "TENANT_002", "--disable")
    assert flags["flags"]["ttl_autotune"] is False


def test_query_budget_returns_429(staging: Staging) -> None:
    staging.mcj("readiness", "set-budget", "--tenant", "TENANT_003", "--units-per-second", "200")
    codes: dict[int, int] = {}
    with httpx.Client() as client:
        for index in range(400):  # list_entities costs 5 units: 40 per second fit
            code = client.post(
                f"{staging.region_url('eu-west')}/v1/tenants/TENANT_003/query",
                json={"id": "list_entities", "variables": {"limit": 1}},
                headers={"x-mc-purpose": "service"},
            ).status_code
            codes[code] = codes.get(code, 0) + 1
            if codes.get(429) and index > 10:
                break
    assert codes.get(429), codes
    assert codes.get(200), codes
    metrics = staging.client.get(f"{staging.region_url('eu-west')}/metrics").text
    assert 'mc_query_budget_rejections_total{region="eu-west",tenant="TENANT_003"}' in metrics
    staging.mcj("readiness", "set-budget", "--tenant", "TENANT_003", "--units-per-second", "5000")


def test_replication_converges_and_concurrent_writes_conflict(staging: Staging) -> None:
    tenant = "TENANT_002"
    west, central = staging.region_url("eu-west"), staging.region_url("eu-central")
    for index in range(50):
        assert (
            staging.put(
                west if index % 2 else central, tenant, f"rep:{index}", str(index)
            ).status_code
            == 200
        )
    barrier = threading.Barrier(2)

    def hammer(base: str) -> None:
        with httpx.Client() as client:
            barrier.wait()
            for index in range(60):
                client.post(
                    f"{base}/v1/tenants/{tenant}/query",
                    json={
                        "id": "put_entity",
                        "variables": {"key": f"hot:{index % 3}", "value": f"{base}-{index}"},
                    },
                    headers={"x-mc-purpose": "service"},
                )

    threads = [threading.Thread(target=hammer, args=(b,)) for b in (west, central)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def converged() -> bool:
        digests = {
            staging.internal(r, f"/internal/tenants/{tenant}/digest")["digest"]
            for r in ("eu-west", "eu-central")
        }
        return len(digests) == 1

    staging.wait_for("A/A regions to converge", converged)
    conflicts = sum(
        float(line.rsplit(" ", 1)[1])
        for base in (west, central)
        for line in staging.client.get(f"{base}/metrics").text.splitlines()
        if line.startswith("mc_replication_conflicts_total") and tenant in line
    )
    assert conflicts > 0
    for index in range(3):
        values = {
            staging.query(
                b, tenant, {"id": "get_entity", "variables": {"key": f"hot:{index}"}}
            ).json()["data"]["value"]
            for b in (west, central)
        }
        assert len(values) == 1  # both sides picked the same winner


def test_rollout_state_machine(staging: Staging) -> None:
    tenant = "TENANT_005"
    assert staging.mcj("rollout", "advance", "--tenant", tenant)["rollout"]["stage"] == "bake"
    early = staging.mc("rollout", "advance", "--tenant", tenant)
    assert early.code == 1
    assert "bake" in early.stderr
    assert "--force" in early.stderr
    staging.mcj("rollout", "pause", "--tenant", tenant, "--reason", "test")
    assert staging.mc("rollout", "advance", "--tenant", tenant, "--force").code == 1
    staging.mcj("rollout", "resume", "--tenant", tenant)
    canary = staging.mcj("rollout", "advance", "--tenant", tenant, "--force", "--op-id", "adv-1")
    assert canary["rollout"] == canary["rollout"] | {"stage": "canary-20", "weight": 20}
    assert canary["mode"] == "active-active"
    repeat = staging.mc(
        "rollout", "advance", "--tenant", tenant, "--force", "--op-id", "adv-1", "--json"
    )
    assert repeat.json["rollout"]["stage"] == "canary-20"  # idempotent op id: not advanced
    weights = staging.mcj("glb", "status", "--tenant", tenant)["tenants"][tenant]["weights"]
    assert sorted(weights.values()) == [20, 80]
    rolled = staging.mcj("rollout", "rollback", "--tenant", tenant)
    assert rolled["mode"] == "active-passive"
    assert rolled["rollout"]["stage"] == "rolled-back"
    log = staging.mcj("provenance", "log", "--tenant", tenant)
    assert log["chain_valid"] is True
    assert [r["action"] for r in log["records"]][-2:] == ["rollout.advance", "rollout.rollback"]
    assert (
        staging.mcj("readiness", "show", "--tenant", tenant)[tenant]["dr_enrolment"]["schedule"]
        == "monthly"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tenant", "status", "--tenant", "TENANT_999"], "tenant 'TENANT_999' unknown"),
        (
            ["autonomy", "simulate", "--tenant", "TENANT_001", "--op-set", "bogus"],
            "op-set 'bogus' unknown",
        ),
        (["autonomy", "set", "--tenant", "TENANT_001", "--tier", "T9"], "tier 'T9' unknown"),
        (
            ["autonomy", "enact", "--tenant", "TENANT_001", "--from-sim", "MALFORMED"],
            "is not valid JSON",
        ),
        (
            ["autonomy", "compensate", "--tenant", "TENANT_001", "--from-evidence", "MISSING"],
            "does not exist",
        ),
        (["faults", "inject", "--kind", "meteor"], "fault kind 'meteor' unknown"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    staging: Staging, tmp_path: Path, args: list[str], message: str
) -> None:
    malformed = tmp_path / "sim.json"
    malformed.write_text("{not json")
    args = [
        str(malformed) if a == "MALFORMED" else str(tmp_path / "nope.json") if a == "MISSING" else a
        for a in args
    ]
    result = staging.mc(*args)
    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_unreachable_and_down_leave_nothing_behind(tmp_path: Path) -> None:
    import subprocess

    never = subprocess.run(
        [
            MC_STAGING,
            "--state-dir",
            str(tmp_path / "none"),
            "tenant",
            "status",
            "--tenant",
            "TENANT_001",
        ],
        capture_output=True,
        text=True,
    )
    assert never.returncode == 3
    assert "mc-staging up" in never.stderr
    own = start_staging(tmp_path / "own")
    pids = dict(own.pids)
    stop_staging(own)  # asserts `down` exit 0 and every pid gone
    assert not [pid for pid in pids.values() if pid_alive(pid)]
    after = subprocess.run(
        [MC_STAGING, "--state-dir", str(own.state_dir), "rollout", "status", "--json"],
        capture_output=True,
        text=True,
    )
    assert after.returncode == 3
    assert "not reachable" in after.stderr
    assert len(after.stderr.strip().splitlines()) == 1
    status = subprocess.run(
        [MC_STAGING, "--state-dir", str(own.state_dir), "status", "--json"],
        capture_output=True,
        text=True,
    )
    assert status.returncode == 3
    assert json.loads(status.stdout)["healthy"] is False
