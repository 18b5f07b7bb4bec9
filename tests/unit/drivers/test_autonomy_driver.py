"""The autonomy driver against a stand-in control CLI (a real subprocess through the runner),
and the same runbook over a stand-in control API (in memory): same records, same answers."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_mc.drivers.autonomy import AutonomyDriver
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.control_api import ControlApi
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import InputError, ProfileError, UnreachableError, UnsafeTargetError
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


ENACTMENT = {
    "kind": "enactment",
    "enactment_id": "enact-1",
    "tenant": "T1",
    "simulation_id": "sim-1",
    "simulation_digest": "d",
    "op_set": "derived_updates",
    "approval": {"token_id": "i", "token_fingerprint": "f", "approver": "a"},
    "started_at": 1.0,
    "finished_at": 2.0,
    "regions": ["eu-a"],
    "applied_regions": [],
    "prior_state": {"count:x": "1"},
    "applied_changes": [],
    "outcome": "aborted",
    "abort_reason": "drift",
    "digest": "e",
}
SECRET = "admin-secret-0123"


class FakeControlApi:
    """Answers `POST /api/autonomy.*` as the stand-in CLI above does, and keeps each body."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.authorizations: set[str | None] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        command = request.url.path.removeprefix("/api/")
        body = json.loads(request.content)
        self.bodies.append((command, body))
        self.authorizations.add(request.headers.get("authorization"))
        if command == "autonomy.simulate":
            if body["op_set"] == "export_entities":
                return _error(409, "refused", "op-set outside the read-only scope")
            return httpx.Response(200, json={"result": SIMULATION})
        if command == "autonomy.approve":
            return httpx.Response(200, json={"result": {"token": f"tok.{body['ttl_seconds']:g}"}})
        if command == "autonomy.enact":
            if body.get("approval_token") in (None, "bad"):
                return _error(400, "bad_input", "approval token signature is invalid")
            return httpx.Response(200, json={"result": ENACTMENT})
        return _error(503, "unreachable", "down")


def _error(status: int, kind: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": kind, "message": message})


def _pilot_profile(document: dict[str, Any], tmp_path: Path) -> TargetProfile:
    document = {
        **document,
        "control": {
            "command": [sys.executable, str(_fake_cli(tmp_path))],
            "api_url": "http://127.0.0.1:4",
        },
    }
    document["tenants"] = [{**document["tenants"][0], "autonomy_pilot": True}]
    (tmp_path / "token").write_text(SECRET)
    return TargetProfile.model_validate(document)


@pytest.fixture
def driver(tmp_path: Path, target_profile_document: dict[str, Any]) -> AutonomyDriver:
    """The autonomy driver of a pilot tenant, its control command the stand-in CLI above."""
    profile = _pilot_profile(target_profile_document, tmp_path)
    return AutonomyDriver(ControlClient(profile, ToolRunner(Redactor())), tmp_path / "records")


@pytest.fixture
def fake_api() -> FakeControlApi:
    return FakeControlApi()


@pytest.fixture
def secrets_seen() -> list[str]:
    """What the control API handed to its `on_secret` (the session's redactor in a run)."""
    return []


@pytest.fixture
def api(driver: AutonomyDriver, fake_api: FakeControlApi, secrets_seen: list[str]) -> ControlApi:
    return ControlApi(
        driver.control.profile,
        on_secret=secrets_seen.append,
        transport=httpx.MockTransport(fake_api),
    )


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


def test_over_the_api_the_runbook_writes_the_records_the_cli_would(
    driver: AutonomyDriver, api: ControlApi, fake_api: FakeControlApi, secrets_seen: list[str]
) -> None:
    cli_simulation = driver.simulate("T1")
    cli_enactment = driver.enact("T1", "tok.30", cli_simulation.path)
    with driver.over_api(api):
        assert driver.channel == "control API"
        simulation = driver.simulate("T1")
        answer, approval = driver.approve(simulation, ttl_seconds=30)
        enactment = driver.enact("T1", approval.token if approval else None, simulation.path)
    assert driver.channel == "control CLI"
    assert answer.done
    assert approval is not None
    assert approval.token == "tok.30"
    assert simulation.record == cli_simulation.record
    assert json.loads(simulation.path.read_text()) == json.loads(cli_simulation.path.read_text())
    # an aborted enactment: exit 1 and its record, as from the CLI
    assert enactment.answer.exit_code == cli_enactment.answer.exit_code == 1
    assert enactment.record == cli_enactment.record
    assert [a.outcome for a in driver.ledger] == ["aborted", "aborted"]
    # the record files went inline, the suite's op id both as idempotency key and audit op id
    sent = dict(fake_api.bodies)
    assert sent["autonomy.approve"]["simulation"] == SIMULATION
    assert sent["autonomy.enact"]["simulation"] == SIMULATION
    assert sent["autonomy.enact"]["op_id"] == sent["autonomy.enact"]["operation_id"]
    assert sent["autonomy.enact"]["op_id"] == driver.ledger[-1].op_id
    assert fake_api.authorizations == {f"Bearer {SECRET}"}
    assert secrets_seen == [SECRET]  # handed to the redactor when read, once


def test_over_the_api_refusals_and_bad_tokens_answer_as_from_the_cli(
    driver: AutonomyDriver, api: ControlApi
) -> None:
    with driver.over_api(api):
        refused = driver.simulate("T1", "export_entities")
        simulation = driver.simulate("T1")
        bad = [driver.enact("T1", token, simulation.path) for token in (None, "bad")]
    assert (refused.answer.exit_code, refused.record) == (1, None)
    assert "outside the read-only scope" in refused.answer.message
    for enactment in bad:
        assert (enactment.answer.exit_code, enactment.record) == (2, None)
        assert "signature is invalid" in enactment.answer.message
    assert [a.outcome for a in driver.ledger] == ["refused", "refused"]


def test_the_control_api_maps_answers_onto_the_clis_exit_codes(api: ControlApi) -> None:
    with pytest.raises(InputError, match=r"control API refused the input \(autonomy enact\)"):
        api.attempt("autonomy", "enact", args={"tenant": "T1", "simulation": SIMULATION})
    with pytest.raises(UnreachableError, match=r"answered 503 for autonomy compensate: down"):
        api.attempt("autonomy", "compensate", args={"tenant": "T1"})


def test_the_control_api_stays_behind_the_fence(
    tmp_path: Path, target_profile_document: dict[str, Any], fake_api: FakeControlApi
) -> None:
    profile = _pilot_profile({**target_profile_document, "environment": "production"}, tmp_path)
    api = ControlApi(profile, transport=httpx.MockTransport(fake_api))
    with pytest.raises(UnsafeTargetError):
        api.attempt("autonomy", "simulate", args={"tenant": "T1", "op_set": "derived_updates"})
    assert fake_api.bodies == []


def test_a_profile_without_a_control_api_says_the_cli_is_its_only_channel(
    target_profile: TargetProfile,
) -> None:
    with pytest.raises(ProfileError, match=r"has no control.api_url"):
        ControlApi(target_profile)
