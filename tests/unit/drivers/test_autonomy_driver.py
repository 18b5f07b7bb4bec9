"""The autonomy driver against a stand-in control CLI (a real subprocess through the runner)."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_mc.drivers.autonomy import AutonomyDriver
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import UnreachableError
from pytest_mc.evidence.redaction import Redactor
from pytest_mc.target.profile import TargetProfile

SIMULATION = {
    "kind": "simulation",
    "simulation_id": "sim-1",
    "tenant": "T1",
    "op_set": "derived_updates",
    "scope": "read-only",
    "tier": "T3",
    "created_at": 1.0,
    "source_region": "eu-a",
    "regions": ["eu-a", "eu-b"],
    "base_digest": "b",
    "base_entities": 2,
    "derived_before": {"count:x": "1"},
    "predicted_changes": [{"name": "count:x", "before": "1", "after": "2"}],
    "risk_score": 0.3,
    "digest": "d",
}

# The stand-in answers like a target: the record to --evidence, the token bare on stdout,
# exit 1 with the audit record for an aborted enactment, exit 2 with one stderr line for a bad
# token, exit 1 without a record for an op-set outside the scope.


def _fake_cli(tmp_path: Path) -> Path:
    script = tmp_path / "fake_mc.py"
    source = textwrap.dedent(
        """
        import json, sys
        args = sys.argv[1:]
        def opt(name):
            return args[args.index(name) + 1] if name in args else None
        sim = json.loads(SIM)
        if args[:2] == ["autonomy", "simulate"]:
            if opt("--op-set") == "export_entities":
                print("mc-staging: op-set outside the read-only scope", file=sys.stderr)
                sys.exit(1)
            if opt("--op-set") == "broken":
                sim.pop("digest")
            open(opt("--evidence"), "w").write(json.dumps(sim))
            print(json.dumps(sim))
            sys.exit(0)
        if args[:2] == ["autonomy", "approve"]:
            assert "--json" not in args
            print("tok." + opt("--ttl-seconds"))
            sys.exit(0)
        if args[:2] == ["autonomy", "enact"]:
            token = opt("--approval-token")
            if token is None or token == "bad":
                print("mc-staging: approval token signature is invalid", file=sys.stderr)
                sys.exit(2)
            record = {
                "kind": "enactment", "enactment_id": "enact-1", "tenant": "T1",
                "simulation_id": "sim-1", "simulation_digest": "d", "op_set": "derived_updates",
                "approval": {"token_id": "i", "token_fingerprint": "f", "approver": "a"},
                "started_at": 1.0, "finished_at": 2.0, "regions": ["eu-a"],
                "applied_regions": [], "prior_state": {"count:x": "1"}, "applied_changes": [],
                "outcome": "aborted", "abort_reason": "drift", "digest": "e",
            }
            open(opt("--evidence"), "w").write(json.dumps(record))
            print("mc-staging: enactment aborted (drift)", file=sys.stderr)
            sys.exit(1)
        sys.exit(3)
        """
    ).replace("SIM", repr(json.dumps(SIMULATION)))
    script.write_text(source)
    return script


@pytest.fixture
def driver(tmp_path: Path, target_profile_document: dict[str, Any]) -> AutonomyDriver:
    """The autonomy driver of a pilot tenant, its control command the stand-in CLI above."""
    document = {
        **target_profile_document,
        "control": {"command": [sys.executable, str(_fake_cli(tmp_path))]},
    }
    document["tenants"] = [{**document["tenants"][0], "autonomy_pilot": True}]
    profile = TargetProfile.model_validate(document)
    return AutonomyDriver(ControlClient(profile, ToolRunner(Redactor())), tmp_path / "records")


def test_the_runbook_reads_records_from_the_evidence_files(driver: AutonomyDriver) -> None:
    simulation = driver.simulate("T1")
    assert simulation.answer.done
    assert simulation.record is not None
    assert simulation.record.predicted_changes[0].after == "2"
    before = time.time()
    answer, approval = driver.approve(simulation, ttl_seconds=30)
    assert answer.done
    assert approval is not None
    assert approval.token == "tok.30"
    assert before + 30 <= approval.expires_at <= time.time() + 30
    enactment = driver.enact("T1", approval.token, simulation.path)
    assert enactment.answer.exit_code == 1
    assert "aborted (drift)" in enactment.answer.message
    assert enactment.record is not None
    assert (enactment.record.outcome, enactment.record.abort_reason) == ("aborted", "drift")


def test_refusals_are_answers_with_the_targets_message(driver: AutonomyDriver) -> None:
    refused = driver.simulate("T1", "export_entities")
    assert (refused.answer.exit_code, refused.record) == (1, None)
    assert "outside the read-only scope" in refused.answer.message
    simulation = driver.simulate("T1")
    for token in (None, "bad"):
        enactment = driver.enact("T1", token, simulation.path)
        assert (enactment.answer.exit_code, enactment.record) == (2, None)
        assert "signature is invalid" in enactment.answer.message


def test_a_record_outside_the_contract_is_the_targets_fault(driver: AutonomyDriver) -> None:
    with pytest.raises(UnreachableError, match=r"breaks the target contract: digest"):
        driver.simulate("T1", "broken")
