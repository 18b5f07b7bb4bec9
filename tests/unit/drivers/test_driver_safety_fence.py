"""Every driver that changes a target refuses a profile outside the fence before anything
reaches the target, and lets reads through; the control CLI's reads are the contract's list."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from pytest_mc.drivers.autonomy import Answer, AutonomyDriver, Simulation
from pytest_mc.drivers.autonomy_models import SimulationRecord
from pytest_mc.drivers.chaos import run_experiment
from pytest_mc.drivers.chaos_target import FaultApi, admin_secret
from pytest_mc.drivers.control import READ_COMMANDS, ControlClient, command_words
from pytest_mc.drivers.dataplane import DataPlaneClient
from pytest_mc.drivers.drill import run_drill
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.errors import UnsafeTargetError
from pytest_mc.target.profile import TargetProfile

DOCS = Path(__file__).resolve().parents[3] / "docs"
PRODUCTION = r"against target 't': environment is 'production', not 'staging'"

# A control CLI that logs each call before answering `{}`: the log shows what reached it.
FAKE_CONTROL = """\
import json, pathlib, sys
with open(pathlib.Path(sys.argv[0]).with_name("calls.log"), "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
print("tok.1" if sys.argv[1:3] == ["autonomy", "approve"] else json.dumps({}))
"""


def production(document: dict[str, Any], **changes: Any) -> TargetProfile:
    return TargetProfile.model_validate({**document, "environment": "production", **changes})


def control_client(tmp_path: Path, profile: TargetProfile) -> tuple[ControlClient, Path]:
    script = tmp_path / "fake_mc.py"
    script.write_text(FAKE_CONTROL, encoding="utf-8")
    fenced = profile.model_copy(
        update={
            "control": profile.control.model_copy(update={"command": (sys.executable, str(script))})
        }
    )
    return ControlClient(fenced, ToolRunner()), tmp_path / "calls.log"


def calls(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


# -- the control CLI ----------------------------------------------------------------------


def test_the_read_commands_are_the_ones_the_target_contract_lists() -> None:
    text = (DOCS / "target-contract.md").read_text(encoding="utf-8")
    listed = re.search(r"\*\*Read commands\*\*: (.*?)\.\n", text, re.S)
    assert listed is not None
    documented = set(re.findall(r"`([a-z -]+)`", listed.group(1)))
    assert documented == {" ".join(command) for command in READ_COMMANDS}


@pytest.mark.parametrize(
    "args",
    [
        ("glb", "bias", "--tenant", "T1", "--region", "r1", "--weight", "100"),
        ("rollout", "advance", "--tenant", "T1"),
        ("flags", "set", "--tenant", "T1", "--flag", "ttl-autotune", "--value", "false"),
        ("dr", "failover", "--tenant", "T1"),
        ("ops", "replay", "--tenant", "T1"),
        ("autonomy", "enact", "--tenant", "T1"),
        ("faults", "inject", "--kind", "latency"),
        ("readiness", "set-budget", "--tenant", "T1", "--units-per-second", "5"),
        ("frobnicate", "everything"),  # unknown to the contract: a change until listed
        ("tenant", "status", "bias"),  # a read's words and one more are not that read
        ("--tenant", "T1", "glb", "bias"),  # no command words at all
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_control_command_that_is_not_a_read_is_refused_before_it_runs(
    tmp_path: Path, target_profile_document: dict[str, Any], args: tuple[str, ...]
) -> None:
    client, log = control_client(tmp_path, production(target_profile_document))
    with pytest.raises(UnsafeTargetError, match=PRODUCTION):
        client.attempt(*args)
    assert calls(log) == []


def test_the_refusal_names_the_control_command(
    tmp_path: Path, target_profile_document: dict[str, Any]
) -> None:
    outside = {**target_profile_document, "glb_url": "http://10.0.0.1:1"}
    client, _log = control_client(tmp_path, TargetProfile.model_validate(outside))
    with pytest.raises(UnsafeTargetError) as caught:
        client.glb_unbias("T1")
    assert str(caught.value) == (
        "refused to run control command 'glb unbias' against target 't': glb_url host "
        "'10.0.0.1' is not in allowed_hosts ['127.0.0.1']; add it only if it is a staging host"
    )


@pytest.mark.parametrize("command", sorted(READ_COMMANDS))
def test_every_read_command_runs_against_any_target(
    tmp_path: Path, target_profile_document: dict[str, Any], command: tuple[str, ...]
) -> None:
    client, log = control_client(tmp_path, production(target_profile_document))
    assert client.attempt(*command, "--tenant", "T1").exit_code == 0
    assert calls(log) == [" ".join((*command, "--tenant", "T1", "--json"))]


def test_command_words_stop_at_the_first_option() -> None:
    assert command_words(("glb", "bias", "--tenant", "T1", "x")) == ("glb", "bias")
    assert command_words(("status",)) == ("status",)


def test_an_approval_is_a_change_and_never_reaches_a_production_target(
    tmp_path: Path, target_profile_document: dict[str, Any]
) -> None:
    client, log = control_client(tmp_path, production(target_profile_document))
    record = SimulationRecord.model_validate(
        {
            "kind": "simulation",
            "simulation_id": "sim-1",
            "tenant": "T1",
            "op_set": "derived_updates",
            "scope": "read-only",
            "tier": "T3",
            "created_at": 1.0,
            "source_region": "r1",
            "regions": ["r1"],
            "base_digest": "b",
            "base_entities": 1,
            "derived_before": {},
            "predicted_changes": [],
            "risk_score": 0.1,
            "digest": "d",
        }
    )
    driver = AutonomyDriver(client, tmp_path / "autonomy")
    simulation = Simulation(Answer("simulate", 0, ""), record, tmp_path / "sim.json")
    with pytest.raises(UnsafeTargetError, match="control command 'autonomy approve'"):
        driver.approve(simulation)
    assert calls(log) == []


# -- the data plane -----------------------------------------------------------------------


def recording_client(profile: TargetProfile) -> tuple[DataPlaneClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {"key": "k", "value": "v"}, "region": "r1"})

    return DataPlaneClient(profile, transport=httpx.MockTransport(handler)), sent


def test_a_write_or_an_adhoc_query_never_reaches_a_production_target(
    target_profile_document: dict[str, Any],
) -> None:
    client, sent = recording_client(production(target_profile_document))
    with pytest.raises(UnsafeTargetError, match=r"data-plane query 'put_entity' of T1 via glb"):
        client.put("T1", "k", "v")
    with pytest.raises(UnsafeTargetError, match=r"data-plane query 'delete_entity'"):
        client.persisted("T1", "delete_entity", {"key": "k"})
    with pytest.raises(UnsafeTargetError, match=r"an ad-hoc query of T1 via glb"):
        client.adhoc("T1", "get k")
    assert sent == []


def test_persisted_reads_reach_a_production_target(
    target_profile_document: dict[str, Any],
) -> None:
    client, sent = recording_client(production(target_profile_document))
    assert client.get("T1", "k").ok
    assert client.list_keys("T1").ok
    assert client.persisted("T1", "get_derived", {}).ok
    assert [json.loads(request.content)["id"] for request in sent] == [
        "get_entity",
        "list_entities",
        "get_derived",
    ]


# -- faults, chaos, DR --------------------------------------------------------------------


def test_the_admin_secret_is_never_read_for_a_production_target(
    tmp_path: Path, target_profile_document: dict[str, Any]
) -> None:
    (tmp_path / "token").write_text("s3cret", encoding="utf-8")
    profile = production(target_profile_document)
    with pytest.raises(UnsafeTargetError, match=r"the admin \(fault\) API against target 't'"):
        admin_secret(profile)
    with pytest.raises(UnsafeTargetError, match=r"fault injection 'derived-drift' against"):
        FaultApi(profile).inject("derived-drift", tenant="T1")
    with pytest.raises(UnsafeTargetError, match=r"fault removal 'derived-drift' against"):
        FaultApi(profile).remove("derived-drift", tenant="T1")
    assert admin_secret(TargetProfile.model_validate(target_profile_document)) == "s3cret"


def test_a_chaos_experiment_and_a_dr_drill_are_refused_before_they_start(
    tmp_path: Path, target_profile_document: dict[str, Any]
) -> None:
    profile = production(target_profile_document)
    with pytest.raises(UnsafeTargetError, match=r"chaos experiment 'region-outage.json'"):
        run_experiment(profile, "region-outage", journal_path=tmp_path / "journal.json")
    client, log = control_client(tmp_path, profile)
    with pytest.raises(UnsafeTargetError, match=r"a DR drill on T1 against target 't'"):
        run_drill(profile, "T1", workdir=tmp_path, control=client)
    assert calls(log) == []
    assert not (tmp_path / "journal.json").exists()
