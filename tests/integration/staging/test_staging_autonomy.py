"""Plan §B runbook verbatim against the staging, every bad-token case, drift, risk and
residency aborts, compensation, the §B.5 downgrade, and no secret anywhere it should not be."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from staging_harness import Result, Staging

from pytest_mc.chaos_providers import delete_burst, write_burst

pytestmark = pytest.mark.integration
T = "TENANT_001"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("out")


def _seed(staging: Staging, count: int = 30) -> None:
    for index in range(count):
        category = ("orders", "users", "carts")[index % 3]
        assert staging.put(staging.glb, T, f"{category}:{index}", "x" * index).status_code == 200


def _set_t3_read_only_with_hitl(staging: Staging) -> None:
    """The plan §B pilot setting: tier T3, read-only scope, a human in the loop."""
    result = staging.mc(
        "autonomy",
        "set",
        "--tenant",
        T,
        "--tier",
        "T3",
        "--scope",
        "read-only",
        "--require-hitl",
        "true",
    )
    assert result.code == 0, result.stderr


def _fresh_sim(staging: Staging, out: Path, name: str) -> Path:
    """Simulate the derived updates into `out/name`; returns the simulation evidence path."""
    path = out / name
    result = staging.mc(
        "autonomy",
        "simulate",
        "--tenant",
        T,
        "--op-set",
        "derived_updates",
        "--evidence",
        str(path),
    )
    assert result.code == 0, result.stderr
    return path


def _approve(staging: Staging, sim: Path, *extra: str) -> str:
    result = staging.mc("autonomy", "approve", "--tenant", T, "--from-sim", str(sim), *extra)
    assert result.code == 0, result.stderr
    return result.stdout.strip()


def _approved_sim(staging: Staging, out: Path, name: str) -> tuple[Path, str]:
    """A fresh simulation in `out/name` and an approval token for it."""
    sim = _fresh_sim(staging, out, name)
    return sim, _approve(staging, sim)


def _enact_run(
    staging: Staging,
    sim: Path,
    token: str | None,
    evidence: Path | None = None,
    *,
    tenant: str = T,
) -> Result:
    """`autonomy enact` of `sim` for `tenant`, with the token and evidence path when given."""
    args = ["autonomy", "enact", "--tenant", tenant, "--from-sim", str(sim)]
    if evidence is not None:
        args += ["--evidence", str(evidence)]
    if token is not None:
        args += ["--approval-token", token]
    return staging.mc(*args)


def _enact(staging: Staging, sim: Path, token: str | None, out: Path) -> tuple[int, str]:
    result = _enact_run(staging, sim, token, out / "e.json")
    return result.code, result.stderr.strip()


def test_plan_runbook_verbatim(staging: Staging, out: Path) -> None:
    _seed(staging)
    _set_t3_read_only_with_hitl(staging)
    sim_path = _fresh_sim(staging, out, "sim.json")
    sim = json.loads(sim_path.read_text())
    assert sim["predicted_changes"]
    assert 0 < sim["risk_score"] < 1
    assert len(sim["digest"]) == 64
    token = _approve(staging, sim_path)
    enact_path = out / "enact.json"
    enact = _enact_run(staging, sim_path, token, enact_path)
    assert enact.code == 0, enact.stderr
    record = json.loads(enact_path.read_text())
    assert record["outcome"] == "succeeded"
    assert record["matches_simulation"] is True
    assert set(record["applied_regions"]) == {"eu-west", "eu-central"}
    derived = staging.query(staging.glb, T, {"id": "get_derived"}).json()["data"]
    assert derived["count:orders"] == "10"
    compensate = staging.mc(
        "autonomy", "compensate", "--tenant", T, "--from-evidence", str(enact_path), "--json"
    )
    assert compensate.code == 0, compensate.stderr
    assert compensate.json["already_compensated"] is False
    assert "count:orders" not in staging.query(staging.glb, T, {"id": "get_derived"}).json()["data"]
    again = staging.mcj("autonomy", "compensate", "--tenant", T, "--from-evidence", str(enact_path))
    assert again["already_compensated"] is True  # idempotent
    status = staging.mcj("autonomy", "status", "--tenant", T)
    assert status["succeeded"] == 1
    assert status["compensations"] == 1


def test_every_bad_token_is_refused_with_a_clear_message(staging: Staging, out: Path) -> None:
    _set_t3_read_only_with_hitl(staging)
    sim = _fresh_sim(staging, out, "sim-tokens.json")
    other_sim = _fresh_sim(staging, out, "sim-other.json")
    good = _approve(staging, sim)
    prefix, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tenant"] = "TENANT_002"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    expired = _approve(staging, sim, "--ttl-seconds", "0.2")
    time.sleep(0.4)
    cases = {
        "missing": (None, "approval token is required"),
        "forged": (f"{prefix}.{forged_payload}.{signature}", "signature is invalid"),
        "garbage": ("not-a-token", "malformed"),
        "expired": (expired, "expired"),
        "wrong simulation": (_approve(staging, other_sim), "another simulation"),
    }
    for name, (token, message) in cases.items():
        code, stderr = _enact(staging, sim, token, out)
        assert code == 2, f"{name}: exit {code} {stderr}"
        assert message in stderr, f"{name}: {stderr}"
        assert len(stderr.splitlines()) == 1
        assert "Traceback" not in stderr
    wrong_tenant = _enact_run(staging, sim, good, tenant="TENANT_002")
    assert wrong_tenant.code == 2
    assert "TENANT_001" in wrong_tenant.stderr
    assert _enact(staging, sim, good, out)[0] == 0
    code, stderr = _enact(staging, sim, good, out)
    assert code == 2
    assert "already used" in stderr
    refusals = staging.client.get(f"{staging.profile['admin']['url']}/metrics").text
    for reason in ("forged", "expired", "wrong_simulation", "replayed", "missing"):
        assert f'reason="{reason}"' in refusals


def test_drift_between_simulate_and_enact_aborts_the_enactment(staging: Staging, out: Path) -> None:
    sim, token = _approved_sim(staging, out, "sim-drift.json")
    fault = staging.inject("derived-drift", tenant=T)
    result = _enact_run(staging, sim, token, out / "drift.json")
    assert result.code == 1, result.stderr
    record = json.loads((out / "drift.json").read_text())
    assert record["outcome"] == "aborted"
    assert record["abort_reason"] == "drift"
    staging.mcj("faults", "remove", "--id", fault["id"])


def _keys(staging: Staging, region: str) -> list[str]:
    listed = staging.query(
        staging.region_url(region), T, {"id": "list_entities", "variables": {"limit": 10_000}}
    )
    return list(listed.json()["data"]["keys"])


def test_risk_anomaly_aborts_the_enactment(staging: Staging, out: Path) -> None:
    """The base-data-burst experiment's actions: the burst written into the region the
    simulation read makes the enactment abort; its rollback deletes exactly the burst."""
    sim, token = _approved_sim(staging, out, "sim-risk.json")
    primary = "eu-west"
    before = _keys(staging, primary)
    burst = write_burst(staging.region_url(primary), T, prefix="test-burst")
    assert burst["written"] == len(before) + 1
    result = _enact_run(staging, sim, token, out / "risk.json")
    assert result.code == 1
    record = json.loads((out / "risk.json").read_text())
    assert (record["outcome"], record["abort_reason"]) == ("aborted", "risk_anomaly")
    assert record["risk_score_at_enact"] - record["risk_score_simulated"] > 0.5
    removed = delete_burst(staging.region_url(primary), T, prefix="test-burst")
    assert removed["deleted"] == burst["written"]
    assert sorted(_keys(staging, primary)) == sorted(before)


def _derived(staging: Staging, regions: tuple[str, ...]) -> dict[str, Any]:
    return {r: staging.internal(r, f"/internal/tenants/{T}/snapshot")["derived"] for r in regions}


def _residency_denials(staging: Staging, region: str) -> float:
    metrics = staging.client.get(f"{staging.region_url(region)}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("mc_residency_denials_total{") and f'tenant="{T}"' in line
    )


def test_residency_denial_aborts_the_enactment_and_undoes_its_writes(
    staging: Staging, out: Path
) -> None:
    own = ("eu-west", "eu-central")
    assert staging.put(staging.glb, T, "carts:placement", "x" * 11).status_code == 200
    sim, token = _approved_sim(staging, out, "sim-placement.json")
    before = _derived(staging, own)
    denials = _residency_denials(staging, "us-east")
    fault = staging.inject("placement-drift", tenant=T, region="us-east")
    try:
        result = _enact_run(staging, sim, token, out / "placement.json")
    finally:
        staging.mcj("faults", "remove", "--id", fault["id"])
    assert result.code == 1, result.stderr
    record = json.loads((out / "placement.json").read_text())
    assert (record["outcome"], record["abort_reason"]) == ("aborted", "residency_denial")
    assert record["regions"][-1] == "us-east"  # written last, after the tenant's own regions
    assert sorted(record["regions"][:-1]) == sorted(own)
    assert record["applied_regions"] == []
    assert _derived(staging, own) == before  # what it wrote in the tenant's regions is undone
    assert _residency_denials(staging, "us-east") == denials + 1
    # with the placement restored, the next enactment writes to the tenant's regions only
    sim, token = _approved_sim(staging, out, "sim-placement-restored.json")
    result = _enact_run(staging, sim, token, out / "placement-restored.json")
    assert result.code == 0, result.stderr
    record = json.loads((out / "placement-restored.json").read_text())
    assert record["outcome"] == "succeeded"
    assert sorted(record["regions"]) == sorted(own)


def test_scope_downgrade_and_veto(staging: Staging, out: Path) -> None:
    export = staging.mc("autonomy", "simulate", "--tenant", T, "--op-set", "export_entities")
    assert export.code == 1
    assert "read-only scope" in export.stderr
    sim, token = _approved_sim(staging, out, "sim-veto.json")
    staging.mcj("autonomy", "abort", "--tenant", T, "--reason", "reviewer veto")
    vetoed = _enact_run(staging, sim, token)
    assert vetoed.code == 1
    assert "halted" in vetoed.stderr
    downgrade = staging.mc("autonomy", "set", "--tenant", T, "--tier", "T2")  # plan §B.5
    assert downgrade.code == 0, downgrade.stderr
    refused = _enact_run(staging, sim, token)
    assert refused.code == 1
    assert "T3 is required" in refused.stderr
    assert (
        staging.mc("autonomy", "simulate", "--tenant", T, "--op-set", "derived_updates").code == 0
    )  # simulator kept for analysis
    assert staging.mc("autonomy", "set", "--tenant", "TENANT_002", "--tier", "T3").code == 1


def test_secrets_never_leak_into_logs_records_metrics_or_evidence(
    staging: Staging, out: Path
) -> None:
    _set_t3_read_only_with_hitl(staging)
    sim, token = _approved_sim(staging, out, "sim-secret.json")
    assert _enact(staging, sim, token, out)[0] == 0
    secrets = {
        "admin secret": staging.secret,
        "approval token": token,
        "token signature": token.rsplit(".", 1)[1],
    }
    haystacks: dict[str, str] = {}
    for path in list(staging.state_dir.rglob("*")) + list(out.rglob("*")):
        if path.is_file() and path.name not in ("admin.token",):
            haystacks[str(path)] = path.read_bytes().decode("utf-8", "replace")
    for endpoint in staging.profile["metrics"]["endpoints"]:
        haystacks[endpoint["url"]] = staging.client.get(endpoint["url"]).text
    haystacks["provenance"] = staging.mc("provenance", "log", "--json").stdout
    haystacks["status"] = staging.mc("status", "--json").stdout
    for name, secret in secrets.items():
        for where, text in haystacks.items():
            assert secret not in text, f"{name} found in {where}"


def test_fast_burn_halts_autonomy_and_switches_to_read_only(staging: Staging, out: Path) -> None:
    _set_t3_read_only_with_hitl(staging)
    sim, token = _approved_sim(staging, out, "sim-burn.json")
    with staging.traffic(T, writes=False):
        fault = staging.inject("error-rate", tenant=T, params={"rate": 0.3})
        event = staging.wait_for(
            "burn tripwire",
            lambda: [e for e in staging.events(T) if e["tripwire"] in ("burn_fast", "burn_slow")],
        )[0]
    staging.mcj("faults", "remove", "--id", fault["id"])
    assert event["action"] == "halt_autonomy"
    status = staging.mcj("autonomy", "status", "--tenant", T)
    assert status["halted"] is True
    assert status["scope"] == "read-only"
    assert status["enactments_enabled"] is False
    refused = _enact_run(staging, sim, token)
    assert refused.code == 1
    assert "halted" in refused.stderr
