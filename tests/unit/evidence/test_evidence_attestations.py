"""The run's standard attestations (an in-toto test-result and a SLSA verification summary),
read by independent implementations: securesystemslib verifies their DSSE signatures under the
run's public key, and the in-toto attestation bindings parse their statements and predicates
(an unknown or misspelt field is refused there). `evidence verify` checks them too."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from evidence_helpers import RecordedRun, RecordRun, RunCli
from google.protobuf import json_format
from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
from in_toto_attestation.predicates.vsa.v1 import vsa_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from pytest_mc.evidence.attestations import (
    TEST_RESULT_PREDICATE,
    VSA_PREDICATE,
    attestation_path,
    write_attestations,
)
from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.signing import (
    PAYLOAD_TYPE,
    generate_signing_key,
    key_id,
    load_signing_key,
    signed_envelope,
)

FEATURES = {"features/rollout.feature": "ab" * 32}


@pytest.fixture
def attested(record_run: RecordRun, tmp_path: Path) -> RecordedRun:
    key_path = tmp_path / "signer.pem"
    generate_signing_key(key_path)
    run = record_run(signing_key=key_path)
    write_attestations(
        read_bundle(run.bundle),
        run.bundle,
        load_signing_key(key_path),
        features=FEATURES,
        version="0.3.1",
    )
    return run


def _sslib_key(run: RecordedRun) -> SSlibKey:
    public = load_pem_public_key(run.public_key.read_bytes())
    raw = base64.b64decode(json.loads(run.envelope.read_text())["public_key"])
    return SSlibKey.from_crypto(public, keyid=key_id(raw))  # type: ignore[arg-type]


def _statement(run: RecordedRun, name: str) -> dict[str, object]:
    """The attestation's statement, once securesystemslib verified its signature."""
    envelope = Envelope.from_dict(json.loads(attestation_path(run.bundle, name).read_text()))
    assert envelope.payload_type == PAYLOAD_TYPE
    accepted = envelope.verify([_sslib_key(run)], 1)
    assert len(accepted) == 1
    document: dict[str, object] = json.loads(envelope.payload)
    parsed = json_format.ParseDict(document, statement_pb2.Statement())
    Statement.copy_from_pb(parsed).validate()
    return document


def test_both_verify_independently_and_name_the_bundle(attested: RecordedRun) -> None:
    digest = hashlib.sha256(attested.bundle.read_bytes()).hexdigest()
    for name, predicate_type in (("test-result", TEST_RESULT_PREDICATE), ("vsa", VSA_PREDICATE)):
        statement = _statement(attested, name)
        assert statement["predicateType"] == predicate_type
        assert statement["subject"] == [
            {"name": attested.bundle.name, "digest": {"sha256": digest}}
        ]


def test_the_test_result_lists_the_scenarios_and_the_configuration(
    attested: RecordedRun,
) -> None:
    predicate = _statement(attested, "test-result")["predicate"]
    json_format.ParseDict(predicate, test_result_pb2.TestResult())  # the standard's fields only
    assert isinstance(predicate, dict)
    assert predicate["result"] == "PASSED"
    assert predicate["passedTests"] == ["features/x.py::TENANT_004"]
    assert predicate["failedTests"] == predicate["warnedTests"] == []
    catalog = read_bundle(attested.bundle).catalog
    assert predicate["configuration"] == [
        {"name": "features/rollout.feature", "digest": {"sha256": "ab" * 32}},
        {
            "name": f"qi-catalog-{catalog.version}",
            "digest": {"sha256": catalog.digest.removeprefix("sha256:")},
        },
    ]


def test_the_verification_summary_fails_a_rehearsal_under_the_frozen_catalog(
    attested: RecordedRun,
) -> None:
    predicate = _statement(attested, "vsa")["predicate"]
    assert isinstance(predicate, dict)
    # The bindings' VSA v1 message has verifiedLevels as one string, where the SLSA spec
    # (authoritative) has an array (in-toto/attestation issue 425): every other field is
    # parsed by the bindings, that one is checked against the spec below.
    json_format.ParseDict(
        {k: v for k, v in predicate.items() if k != "verifiedLevels"},
        vsa_pb2.VerificationSummary(),
    )
    catalog = read_bundle(attested.bundle).catalog
    assert predicate["verificationResult"] == "FAILED"  # a rehearsal never meets the DoD
    assert predicate["verifiedLevels"] == ["FAILED"]
    assert predicate["policy"] == {
        "uri": f"urn:pytest-mc:qi-catalog:{catalog.version}",
        "digest": {"sha256": catalog.digest.removeprefix("sha256:")},
    }
    signature = hashlib.sha256(attested.envelope.read_bytes()).hexdigest()
    assert predicate["inputAttestations"] == [
        {"uri": attested.envelope.name, "digest": {"sha256": signature}}
    ]


def test_evidence_verify_checks_them(attested: RecordedRun, run_cli: RunCli) -> None:
    done = run_cli("evidence", "verify", attested.bundle, "--public-key", attested.public_key)
    assert done.code == 0, done.err
    assert f"2 attestations ({TEST_RESULT_PREDICATE}, {VSA_PREDICATE})" in done.out


def _rewrite_subject_digest(path: Path) -> None:
    envelope = json.loads(path.read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    path.write_text(json.dumps(envelope))


def test_a_tampered_subject_digest_is_refused(attested: RecordedRun, run_cli: RunCli) -> None:
    path = attestation_path(attested.bundle, "vsa")
    _rewrite_subject_digest(path)

    done = run_cli("evidence", "verify", attested.bundle, "--public-key", attested.public_key)

    assert done.code == 2
    assert "signature does not verify" in done.err, done.err
    assert done.err.count("\n") == 1, done.err
    envelope = Envelope.from_dict(json.loads(path.read_text()))
    with pytest.raises(VerificationError):
        envelope.verify([_sslib_key(attested)], 1)


def test_an_attestation_of_another_bundle_or_by_another_key_is_refused(
    attested: RecordedRun, run_cli: RunCli, tmp_path: Path
) -> None:
    path = attestation_path(attested.bundle, "test-result")
    statement = json.loads(base64.b64decode(json.loads(path.read_text())["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "1" * 64
    signer = load_signing_key(tmp_path / "signer.pem")
    path.write_text(signed_envelope(json.dumps(statement).encode(), signer).model_dump_json())
    done = run_cli("evidence", "verify", attested.bundle, "--public-key", attested.public_key)
    assert done.code == 2
    assert "its subject is not" in done.err, done.err

    statement["subject"][0]["digest"]["sha256"] = hashlib.sha256(
        attested.bundle.read_bytes()
    ).hexdigest()
    generate_signing_key(tmp_path / "stranger.pem")
    stranger = load_signing_key(tmp_path / "stranger.pem")
    path.write_text(signed_envelope(json.dumps(statement).encode(), stranger).model_dump_json())
    done = run_cli("evidence", "verify", attested.bundle, "--public-key", attested.public_key)
    assert done.code == 2
    assert f"the signer {stranger.keyid} is not a trusted key" in done.err, done.err
