"""Crash forensics: `mc-verify evidence verify --chain FILE` reports how many records of a
raw chain file form its valid prefix, which run never finished and which scenarios it left
incomplete, and a torn last line as a crash (exit 0, warning), not tampering (exit 2). In a
bundle, a record appended after the chain head is named as appended, and a crashed run's
incomplete scenario stays in the scenario history beside the next run's result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evidence_helpers import RELEASE, RecordedRun, RecordRun, RunCli

from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.chain import record_hash
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import (
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
    TargetInfo,
)
from pytest_mc.evidence.signing import load_signing_key
from pytest_mc.policy.catalog import QiCatalog, catalog_reference

NODEID = "features/test_rollout.py::test_rollout[TENANT_004]"


def start_run(recorder: EvidenceRecorder, catalog: QiCatalog, run_id: str) -> None:
    recorder.record(
        RunStarted(
            run_id=run_id,
            release=RELEASE,
            target=TargetInfo(name="staging", environment="staging", time_scale=600),
            rehearsal=True,
            catalog=catalog_reference(catalog),
            suite_version="0.3.1",
        )
    )
    recorder.record(ScenarioStarted(nodeid=NODEID, scenario="rollout", tenant="TENANT_004"))


def crashed_then_rerun(out_dir: Path, catalog: QiCatalog) -> EvidencePaths:
    """A run killed mid-scenario, then the next run of the same suite into the same chain."""
    paths = EvidencePaths(out_dir, RELEASE)
    crashed = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    start_run(crashed, catalog, "run-crashed")
    crashed.close()  # killed here: no scenario_finished, no run_finished
    rerun = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    start_run(rerun, catalog, "run-next")
    rerun.record(
        ScenarioFinished(nodeid=NODEID, tenant="TENANT_004", outcome="passed", duration_seconds=1.0)
    )
    rerun.record(RunFinished(run_id="run-next", exit_status=0, scenarios=1, failed=0))
    rerun.close()
    return paths


def test_a_record_appended_after_the_chain_head_is_named_as_appended(
    record_run: RecordRun, run_cli: RunCli
) -> None:
    run = record_run("TENANT_004")
    document = run.document()
    records = document["chains"][0]["records"]  # type: ignore[index]
    last = records[-1]
    forged = {**last, "seq": last["seq"] + 1, "prev": last["hash"]}
    forged["body"] = {**last["body"], "run_id": "forged", "exit_status": 0}
    forged["hash"] = record_hash(forged)
    records.append(forged)
    run.bundle.write_text(json.dumps(document, indent=1))

    result = run_cli("evidence", "verify", run.bundle, "--public-key", run.public_key)

    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert lines == [
        "error: evidence-v0.3.1-mc.json chain 0: record 8 (seq 8) was appended after the chain "
        "head (head: 8 records, seq 7); 1 record(s) were added after the bundle was written"
    ]


def test_verify_chain_reports_an_intact_chain_as_valid(
    record_run: RecordRun, run_cli: RunCli
) -> None:
    run = record_run("TENANT_004")

    result = run_cli("evidence", "verify", "--chain", run.chain)

    assert result.code == 0, result.err
    assert f"{run.chain}: the first 8 records form a valid chain (head seq 7, hash " in result.out
    assert "not signed: this proves its records are consistent, not who wrote them" in result.out
    assert "never finished" not in result.out
    assert result.err == ""


def test_verify_chain_on_a_chain_cut_by_a_crash_reports_the_valid_prefix(
    tmp_path: Path, catalog: QiCatalog, run_cli: RunCli
) -> None:
    paths = EvidencePaths(tmp_path / "dist", RELEASE)
    recorder = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    start_run(recorder, catalog, "run-crashed")
    recorder.close()
    with paths.chain.open("ab") as chain:  # killed in the middle of writing record 2
        chain.write(b'{"at":"2026-11-26T09:00:00Z","body":{"kind":"measurem')

    result = run_cli("evidence", "verify", "--chain", paths.chain)

    assert result.code == 0, result.err
    assert f"{paths.chain}: the first 2 records form a valid chain" in result.out
    assert "run run-crashed (started " in result.out
    assert (
        "has no run_finished record: it crashed, was killed or is still running: "
        f"scenario(s) never finished: {NODEID}"
    ) in result.out
    assert result.err.strip() == (
        "warning: line 3 is torn (53 bytes, no newline): a writer died mid-record; that record "
        "was never acknowledged, and the next writer cuts it off"
    )


def test_verify_chain_names_the_first_tampered_line_and_the_valid_prefix(
    record_run: RecordRun, run_cli: RunCli
) -> None:
    run = record_run("TENANT_004")
    lines = run.chain.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b'"TENANT_004"', b'"TENANT_005"', 1)
    run.chain.write_bytes(b"".join(lines))

    result = run_cli("evidence", "verify", "--chain", run.chain)

    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert line.startswith(
        "error: line 4: evidence-v0.3.1-mc.chain.jsonl record 3 (seq 3): hash mismatch"
    )
    assert "the first 3 records form a valid prefix" in line
    assert "tampering, not a crash" in line


def test_verify_chain_names_a_forged_last_record_as_appended(
    record_run: RecordRun, run_cli: RunCli
) -> None:
    run = record_run("TENANT_004")
    lines = run.chain.read_bytes().splitlines(keepends=True)
    forged = json.loads(lines[-1])
    forged["seq"] += 1
    forged["prev"] = forged["hash"]
    forged["hash"] = "0" * 64  # a forger without the chain's hash would append this
    run.chain.write_bytes(b"".join(lines) + json.dumps(forged).encode() + b"\n")

    result = run_cli("evidence", "verify", "--chain", run.chain)

    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert f"the first {len(lines)} records form a valid prefix" in line
    assert "a record appended after the valid prefix that does not verify is a forged append" in (
        line
    )


def test_verify_chain_names_a_line_that_is_not_json(record_run: RecordRun, run_cli: RunCli) -> None:
    run = record_run("TENANT_004")
    lines = run.chain.read_bytes().splitlines(keepends=True)
    lines[5] = b"\x00garbage\n"
    run.chain.write_bytes(b"".join(lines))

    result = run_cli("evidence", "verify", "--chain", run.chain)

    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert f"evidence chain {run.chain}:6: record is not valid JSON" in line
    assert "the first 5 records form a valid prefix" in line


@pytest.mark.parametrize(
    "arguments",
    [(), ("BUNDLE", "--chain", "CHAIN")],
    ids=["neither", "both"],
)
def test_verify_takes_a_bundle_or_a_chain(
    run: RecordedRun, run_cli: RunCli, arguments: tuple[str, ...]
) -> None:
    given = [
        {"BUNDLE": str(run.bundle), "CHAIN": str(run.chain)}.get(arg, arg) for arg in arguments
    ]

    result = run_cli("evidence", "verify", *given)

    assert result.code == 2
    assert "pass BUNDLE, or --chain FILE for a raw chain file (not both)" in result.err


def test_verify_chain_on_a_missing_file_is_one_error_line(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli("evidence", "verify", "--chain", tmp_path / "nope.chain.jsonl")

    assert result.code == 2
    assert result.err.startswith("error: evidence chain not found: ")
    assert result.err.count("\n") == 1


@pytest.fixture
def run(record_run: RecordRun) -> RecordedRun:
    return record_run("TENANT_004")


def test_a_crashed_runs_incomplete_scenario_stays_beside_the_next_runs_result(
    tmp_path: Path, catalog: QiCatalog, run_cli: RunCli
) -> None:
    paths = crashed_then_rerun(tmp_path / "dist", catalog)
    key = load_signing_key(None)
    publish(paths.chain, paths.bundle, catalog, key, release=RELEASE)
    (tmp_path / "signer.pub.pem").write_bytes(key.public_pem)

    scenarios = read_bundle(paths.bundle).tenants["TENANT_004"].scenarios

    assert [(s.run_id, s.nodeid, s.outcome) for s in scenarios] == [
        ("run-crashed", NODEID, "incomplete"),
        ("run-next", NODEID, "passed"),
    ]
    verified = run_cli(
        "evidence", "verify", paths.bundle, "--public-key", tmp_path / "signer.pub.pem"
    )
    assert verified.code == 0, verified.err
    forensics = run_cli("evidence", "verify", "--chain", paths.chain)
    assert forensics.code == 0, forensics.err
    assert "run run-crashed " in forensics.out
    assert "run run-next " not in forensics.out
