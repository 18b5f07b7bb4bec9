"""`mc-verify report oscal`: a verified bundle as NIST OSCAL Assessment Results, validated with
compliance-trestle's OSCAL models (generated from NIST's schema; an unknown field or a value
outside its pattern is refused), the same bytes on every export."""

from __future__ import annotations

import json
from pathlib import Path

from evidence_helpers import RecordedRun, RecordRun, RunCli
from trestle.oscal.assessment_results import AssessmentResults

from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.recorder import EvidenceRecorder
from pytest_mc.evidence.signing import generate_signing_key

NODEID = "features/x.py::TENANT_004"


def _with_scenario_artifact(recorder: EvidenceRecorder) -> None:
    recorder.attach(b"{}", name="gates.json", kind="json", tenant="TENANT_004", nodeid=NODEID)


def _run(record_run: RecordRun, tmp_path: Path) -> RecordedRun:
    key = tmp_path / "signer.pem"
    generate_signing_key(key)
    return record_run(signing_key=key, extra=_with_scenario_artifact)


def _export(run: RecordedRun, run_cli: RunCli, out: Path) -> dict[str, object]:
    done = run_cli("report", "oscal", run.bundle, "--public-key", run.public_key, "-o", out)
    assert done.code == 0, done.err
    assert done.out.startswith(f"{out}: OSCAL assessment results, 1 result(s)"), done.out
    document: dict[str, object] = json.loads(out.read_text())
    return document


def test_the_export_validates_and_carries_the_measurements_and_the_dod(
    record_run: RecordRun, run_cli: RunCli, tmp_path: Path
) -> None:
    run = _run(record_run, tmp_path)
    document = _export(run, run_cli, tmp_path / "ar.json")

    results = AssessmentResults.model_validate(document["assessment-results"])
    bundle = read_bundle(run.bundle)
    assert results.metadata.version == bundle.release
    assert {p.name: p.value for p in results.metadata.props or []}["rehearsal"] == "true"
    (result,) = results.results
    observations = {o.title: o for o in result.observations or []}
    lag = observations["replication_lag of TENANT_004"]
    assert lag.methods == ["TEST"]
    evidence = [e.description for e in lag.relevant_evidence or []]
    assert any(d.startswith("chain record ") and "sha256 " in d for d in evidence), evidence
    assert any(d.startswith("artifact gates.json, sha256 ") for d in evidence), evidence
    (subject,) = lag.subjects or []
    components = {c.uuid: c.title for c in result.local_definitions.components or []}
    assert components[subject.subject_uuid] == "TENANT_004"
    findings = {f.title: f for f in result.findings or []}
    gate = findings["Validation gate replication_lag, TENANT_004"]
    assert gate.target.target_id == "replication_lag"
    assert gate.target.status.state.value == "satisfied"
    assert [r.observation_uuid for r in gate.related_observations or []] == [lag.uuid]
    dod = [f for f in result.findings or [] if f.title.startswith("DoD ")]
    assert len(dod) == len(bundle.dod)
    # a rehearsal is judged, but satisfies no DoD item
    assert {f.target.status.state.value for f in dod} == {"not-satisfied"}


def test_the_same_bundle_exports_the_same_bytes(
    record_run: RecordRun, run_cli: RunCli, tmp_path: Path
) -> None:
    run = _run(record_run, tmp_path)
    _export(run, run_cli, tmp_path / "first.json")
    _export(run, run_cli, tmp_path / "second.json")
    assert (tmp_path / "first.json").read_bytes() == (tmp_path / "second.json").read_bytes()


def test_a_bundle_that_does_not_verify_is_not_exported(
    record_run: RecordRun, run_cli: RunCli, tmp_path: Path
) -> None:
    run = _run(record_run, tmp_path)
    stranger = tmp_path / "stranger.pem"
    generate_signing_key(stranger)
    out = tmp_path / "ar.json"
    done = run_cli(
        "report", "oscal", run.bundle, "--public-key", tmp_path / "stranger.pub.pem", "-o", out
    )
    assert done.code == 2
    assert "is not a trusted key" in done.err, done.err
    assert not out.exists()
