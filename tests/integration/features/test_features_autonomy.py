"""features/autonomy_pilot.feature (plan §B) through the plugin against a real reference staging.

The controls, runbook and backout scenarios run in one go; the bundle must carry an
`enactment_audit` for every enactment in the pilot's section, and the pilot is left as it was.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_mc.cli.dod import decide_from_bundle
from pytest_mc.evidence.signing import load_trusted_keys

pytestmark = pytest.mark.integration

PILOT = "TENANT_001"
# B.1 (1 + 3 op-sets + 6 token kinds + override), B.3 (2), B.5 (1), B.4 (2 burns + risk)
CONTROL_SCENARIOS = 18


def autonomy_state(reference_staging: Any, tenant: str) -> dict[str, object]:
    done = subprocess.run(
        [
            *reference_staging.profile.control.command,
            "autonomy",
            "status",
            "--tenant",
            tenant,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    status = json.loads(done.stdout)
    return {k: status[k] for k in ("tier", "scope", "require_hitl", "halted")}


def test_controls_runbook_backout_and_tripwires_pass_and_leave_autonomy_as_found(
    reference_staging: Any, run_project_feature: Any, tmp_path: Path
) -> None:
    tenants = [t.id for t in reference_staging.profile.tenants]
    before = {t: autonomy_state(reference_staging, t) for t in tenants}
    run = run_project_feature(
        reference_staging.profile_path, "autonomy_pilot.feature", "-k", "not campaign"
    )
    assert run.returncode == 0, run.output
    assert f"{CONTROL_SCENARIOS} passed" in run.output, run.output
    section = run.tenant_section(PILOT)
    assert [s["outcome"] for s in section["scenarios"]] == ["passed"] * CONTROL_SCENARIOS
    audits = section["enactments"]
    assert audits, "no enactment_audit recorded"
    assert {a["outcome"] for a in audits} == {"enacted", "aborted"}
    aborted = [a["detail"] for a in audits if a["outcome"] == "aborted"]
    assert aborted == ["risk_anomaly", "residency_denial"]
    observed = {t["qi_id"]: t["verdict"] for t in section["tripwires"]}
    assert observed == dict.fromkeys(
        (
            "tripwire_burn_fast",
            "tripwire_burn_slow",
            "tripwire_risk_anomaly",
            "tripwire_residency_denial",
        ),
        "pass",
    )
    assert all(a["approval_fingerprint"] for a in audits)
    names = {a["name"] for a in section["artifacts"]}
    assert {f"{a['enactment_id']}.json" for a in audits} <= names
    pilot = run.bundle["autonomy_pilot"]["enactments"]
    assert {a["enactment_id"] for a in pilot} == {a["enactment_id"] for a in audits}
    assert {t: autonomy_state(reference_staging, t) for t in tenants} == before
    # Every §B.4 tripwire was induced by a chaos experiment: the week-5 decision lists each
    # one as induced and none as a pilot incident.
    trusted = load_trusted_keys([run.public_key])
    decision = decide_from_bundle(run.bundle_path, tmp_path / "decision", trusted=trusted)
    fired = {t.qi_id: t.induced for t in decision.tripwires_fired}
    assert set(observed) <= set(fired), fired
    assert all(fired.values()), fired
    status = subprocess.run(
        [
            *reference_staging.profile.control.command,
            "tenant",
            "status",
            "--tenant",
            PILOT,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rollout = json.loads(status.stdout)["rollout"]
    assert (rollout["stage"], rollout["paused"]) == ("ga", False), rollout


def test_a_short_campaign_measures_every_kpi_and_is_honestly_inconclusive(
    reference_staging: Any, run_project_feature: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cycles = 8
    monkeypatch.setenv("MC_AUTONOMY_CYCLES", str(cycles))
    run = run_project_feature(
        reference_staging.profile_path, "autonomy_pilot.feature", "-k", "campaign"
    )
    assert run.returncode == 1, run.output
    assert "1 failed" in run.output, run.output
    assert "KPI sim_false_negative_rate inconclusive over 8 cycles" in run.output, run.output
    section = run.tenant_section(PILOT)
    judged = {m["qi_id"]: m for m in section["measurements"]}
    for qi_id in ("privacy_incidents", "p1_incidents", "slo_regression", "cost_within_budget"):
        assert judged[qi_id]["verdict"] == "pass", judged[qi_id]
    for qi_id, needed in (
        ("autonomy_success_rate", 2995),
        ("compensation_rate", 598),
        ("sim_false_negative_rate", 2995),
    ):
        measurement = judged[qi_id]
        assert measurement["verdict"] == "inconclusive", measurement
        assert measurement["trials"] == cycles, measurement
        assert measurement["more_trials_needed"] == needed - cycles, measurement
    assert judged["autonomy_success_rate"]["events"] == cycles  # the drift cycle aborted
    audits = section["enactments"]
    assert len(audits) == cycles
    assert sorted(a["outcome"] for a in audits) == ["aborted"] + ["enacted"] * (cycles - 1)
    assert [a["detail"] for a in audits if a["outcome"] == "aborted"] == ["drift"]
