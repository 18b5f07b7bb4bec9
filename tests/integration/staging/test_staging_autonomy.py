"""Plan §B runbook verbatim against the staging, every bad-token case, drift and risk aborts,
compensation, the §B.5 downgrade, and no secret anywhere it should not be."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from staging_harness import Staging

pytestmark = pytest.mark.integration
T = "TENANT_001"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("out")


def _seed(staging: Staging, count: int = 30) -> None:
    for index in range(count):
        category = ("orders", "users", "carts")[index % 3]
        assert staging.put(staging.glb, T, f"{category}:{index}", "x" * index).status_code == 200


def _approve(staging: Staging, sim: Path, *extra: str) -> str:
    result = staging.mc("autonomy", "approve", "--tenant", T, "--from-sim", str(sim), *extra)
    assert result.code == 0, result.stderr
    return result.stdout.strip()


def test_plan_runbook_verbatim(staging: Staging, out: Path) -> None:
    _seed(staging)
    set_result = staging.mc(
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
    assert set_result.code == 0, set_result.stderr
    sim_path = out / "sim.json"
    simulate = staging.mc(
        "autonomy",
        "simulate",
        "--tenant",
        T,
        "--op-set",
        "derived_updates",
        "--evidence",
        str(sim_path),
    )
    assert simulate.code == 0, simulate.stderr
    sim = json.loads(sim_path.read_text())
    assert sim["predicted_changes"]
    assert 0 < sim["risk_score"] < 1
    assert len(sim["digest"]) == 64
    token = _approve(staging, sim_path)
    enact_path = out / "enact.json"
    enact = staging.mc(
        "autonomy",
        "enact",
        "--tenant",
        T,
        "--approval-token",
        token,
        "--from-sim",
        str(sim_path),
        "--evidence",
        str(enact_path),
    )
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


def _fresh_sim(staging: Staging, out: Path, name: str) -> Path:
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


def _enact(staging: Staging, sim: Path, token: str | None, out: Path) -> tuple[int, str]:
    args = [
        "autonomy",
        "enact",
        "--tenant",
        T,
        "--from-sim",
        str(sim),
        "--evidence",
        str(out / "e.json"),
    ]
    if token is not None:
        args += ["--approval-token", token]
    result = staging.mc(*args)
    return result.code, result.stderr.strip()


def test_every_bad_token_is_refused_with_a_clear_message(staging: Staging, out: Path) -> None:
    staging.mcj(
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
    wrong_tenant = staging.mc(
        "autonomy",
        "enact",
        "--tenant",
        "TENANT_002",
        "--approval-token",
        good,
        "--from-sim",
        str(sim),
    )
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
    sim = _fresh_sim(staging, out, "sim-drift.json")
    token = _approve(staging, sim)
    fault = staging.inject("derived-drift", tenant=T)
    result = staging.mc(
        "autonomy",
        "enact",
        "--tenant",
        T,
        "--approval-token",
        token,
        "--from-sim",
        str(sim),
        "--evidence",
        str(out / "drift.json"),
    )
    assert result.code == 1, result.stderr
    record = json.loads((out / "drift.json").read_text())
    assert record["outcome"] == "aborted"
    assert record["abort_reason"] == "drift"
    staging.mcj("faults", "remove", "--id", fault["id"])


def test_risk_anomaly_aborts_the_enactment(staging: Staging, out: Path) -> None:
    sim = _fresh_sim(staging, out, "sim-risk.json")
    token = _approve(staging, sim)
    for index in range(60):  # mass change of base data after the simulation
        staging.put(staging.glb, T, f"orders:{index}", f"changed-{index}")
    result = staging.mc(
        "autonomy",
        "enact",
        "--tenant",
        T,
        "--approval-token",
        token,
        "--from-sim",
        str(sim),
        "--evidence",
        str(out / "risk.json"),
    )
    assert result.code == 1
    assert json.loads((out / "risk.json").read_text())["abort_reason"] == "risk_anomaly"


def test_scope_downgrade_and_veto(staging: Staging, out: Path) -> None:
    export = staging.mc("autonomy", "simulate", "--tenant", T, "--op-set", "export_entities")
    assert export.code == 1
    assert "read-only scope" in export.stderr
    sim = _fresh_sim(staging, out, "sim-veto.json")
    token = _approve(staging, sim)
    staging.mcj("autonomy", "abort", "--tenant", T, "--reason", "reviewer veto")
    vetoed = staging.mc(
        "autonomy", "enact", "--tenant", T, "--approval-token", token, "--from-sim", str(sim)
    )
    assert vetoed.code == 1
    assert "halted" in vetoed.stderr
    downgrade = staging.mc("autonomy", "set", "--tenant", T, "--tier", "T2")  # plan §B.5
    assert downgrade.code == 0, downgrade.stderr
    refused = staging.mc(
        "autonomy", "enact", "--tenant", T, "--approval-token", token, "--from-sim", str(sim)
    )
    assert refused.code == 1
    assert "T3 is required" in refused.stderr
    assert (
        staging.mc("autonomy", "simulate", "--tenant", T, "--op-set", "derived_updates").code == 0
    )  # simulator kept for analysis
    assert staging.mc("autonomy", "set", "--tenant", "TENANT_002", "--tier", "T3").code == 1


def test_secrets_never_leak_into_logs_records_metrics_or_evidence(
    staging: Staging, out: Path
) -> None:
    staging.mcj(
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
    sim = _fresh_sim(staging, out, "sim-secret.json")
    token = _approve(staging, sim)
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
    staging.mcj(
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
    sim = _fresh_sim(staging, out, "sim-burn.json")
    token = _approve(staging, sim)
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
    refused = staging.mc(
        "autonomy", "enact", "--tenant", T, "--approval-token", token, "--from-sim", str(sim)
    )
    assert refused.code == 1
    assert "halted" in refused.stderr
