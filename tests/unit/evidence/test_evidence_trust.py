"""Whom `mc-verify evidence verify` believes: a bundle verifies (exit 0) only when its
signature verifies under a key the caller trusts (`--public-key`, repeatable, or
`MC_TRUSTED_KEYS`). A forged bundle re-signed with any fresh key is refused; without a
trusted key every other check still runs and the signer is refused as not authenticated;
envelope fields outside the signature change nothing; a malformed signed statement or an
artifact that is not a regular file is one `error:` line, never a traceback."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from evidence_helpers import RELEASE, RecordedRun, RecordRun, RunCli

from pytest_mc.errors import BundleError
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidenceRecorder
from pytest_mc.evidence.records import Artifact
from pytest_mc.evidence.signing import (
    PAYLOAD_TYPE,
    TRUST_ENV,
    generate_signing_key,
    load_signing_key,
    pae,
)
from pytest_mc.evidence.verify import artifact_file
from pytest_mc.policy.catalog import QiCatalog

Forgery = Callable[[RecordedRun, QiCatalog], None]


def public_of(key: Path) -> Path:
    return key.with_name(f"{key.stem}.pub.pem")


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    return lines[0]


def with_an_extra_record(run: RecordedRun, catalog: QiCatalog) -> None:
    recorder = EvidenceRecorder(run.paths, catalog, writer="controller", durable=False)
    recorder.measure("p1_incidents", 0, tenant="TENANT_009", source="forged")
    recorder.close()


def with_a_removed_record(run: RecordedRun, catalog: QiCatalog) -> None:
    lines = run.chain.read_bytes().splitlines(keepends=True)
    run.chain.write_bytes(b"".join(lines[:-1]))  # drop run_finished


@pytest.fixture
def signed(record_run: RecordRun, user_key: Path) -> RecordedRun:
    return record_run("TENANT_004", signing_key=user_key)


@pytest.mark.parametrize("forge", [with_an_extra_record, with_a_removed_record])
def test_a_bundle_republished_and_resigned_with_a_fresh_key_is_refused(
    signed: RecordedRun,
    user_key: Path,
    tmp_path: Path,
    catalog: QiCatalog,
    run_cli: RunCli,
    forge: Forgery,
) -> None:
    forge(signed, catalog)
    fresh = tmp_path / "forger" / "key.pem"
    generate_signing_key(fresh)
    forger = load_signing_key(fresh)
    publish(signed.chain, signed.bundle, catalog, forger, release=RELEASE)

    result = run_cli("evidence", "verify", signed.bundle, "--public-key", public_of(user_key))

    assert result.code == 2
    line = one_error_line(result.err)
    assert f"the signer {forger.keyid} is not a trusted key" in line
    assert f"(trusted: {load_signing_key(user_key).keyid})" in line
    assert result.out == ""


def test_without_a_trusted_key_everything_is_checked_and_the_signer_is_refused(
    signed: RecordedRun, run_cli: RunCli
) -> None:
    result = run_cli("evidence", "verify", signed.bundle)

    assert result.code == 2
    line = one_error_line(result.err)
    assert (
        "schema, 8 chained records, views and 1 artifacts check out and the signature is "
        "valid, but the signer ed25519:"
    ) in line
    assert "is not authenticated: no trusted key was given" in line
    assert f"--public-key PUB.pem, or list it in ${TRUST_ENV}" in line


def test_without_a_trusted_key_a_tampered_bundle_still_names_the_tampering(
    signed: RecordedRun, run_cli: RunCli
) -> None:
    (artifact,) = signed.paths.artifacts.iterdir()
    artifact.write_bytes(b"edited")

    result = run_cli("evidence", "verify", signed.bundle)

    assert result.code == 2
    assert "artifact 'k6-summary-TENANT_004.txt' (record 5) was altered" in one_error_line(
        result.err
    )


def test_a_trusted_key_verifies_end_to_end_with_public_key(
    signed: RecordedRun, user_key: Path, run_cli: RunCli
) -> None:
    result = run_cli("evidence", "verify", signed.bundle, "--public-key", public_of(user_key))

    assert result.code == 0, result.err
    assert f"signature by trusted key {load_signing_key(user_key).keyid}" in result.out
    assert "ephemeral" not in result.err


def test_any_one_of_several_public_keys_may_have_signed(
    signed: RecordedRun, user_key: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    other = tmp_path / "other" / "key.pem"
    generate_signing_key(other)

    result = run_cli(
        "evidence", "verify", signed.bundle,
        "--public-key", public_of(other), "--public-key", public_of(user_key),
    )  # fmt: skip

    assert result.code == 0, result.err


@pytest.mark.parametrize("listed", ["the file", "its directory", "a list with the file"])
def test_a_trusted_key_verifies_end_to_end_through_mc_trusted_keys(
    signed: RecordedRun,
    user_key: Path,
    tmp_path: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    listed: str,
) -> None:
    other = tmp_path / "other" / "key.pem"
    generate_signing_key(other)
    value = {
        "the file": str(public_of(user_key)),
        "its directory": str(user_key.parent),
        "a list with the file": os.pathsep.join([str(public_of(other)), str(public_of(user_key))]),
    }[listed]
    monkeypatch.setenv(TRUST_ENV, value)

    result = run_cli("evidence", "verify", signed.bundle)

    assert result.code == 0, result.err


def test_mc_trusted_keys_without_the_signer_refuses_it(
    signed: RecordedRun, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other" / "key.pem"
    generate_signing_key(other)
    monkeypatch.setenv(TRUST_ENV, str(other.parent))

    result = run_cli("evidence", "verify", signed.bundle)

    assert result.code == 2
    assert f"not a trusted key (trusted: {load_signing_key(other).keyid})" in one_error_line(
        result.err
    )


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("missing.pem", "which does not exist"),
        ("empty-dir", "which holds no *.pem public key"),
        ("not-a-key.pem", "is not a PEM Ed25519 key"),
    ],
)
def test_a_bad_mc_trusted_keys_entry_is_one_error_line(
    signed: RecordedRun,
    tmp_path: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    entry: str,
    fragment: str,
) -> None:
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "not-a-key.pem").write_text("-----BEGIN NOTHING-----\n")
    monkeypatch.setenv(TRUST_ENV, str(tmp_path / entry))

    result = run_cli("evidence", "verify", signed.bundle)

    assert result.code == 2
    assert fragment in one_error_line(result.err)


@pytest.mark.parametrize("flag", [True, False])
def test_the_envelope_ephemeral_flag_changes_nothing(
    record_run: RecordRun, user_key: Path, run_cli: RunCli, flag: bool
) -> None:
    """The signed statement says whether the key was ephemeral; the envelope's copy of it
    (written by earlier versions) is outside the signature and ignored."""
    runs = {
        "user key": (
            record_run("TENANT_004", job="user", signing_key=user_key),
            public_of(user_key),
        ),
        "ephemeral": (record_run("TENANT_004", job="ephemeral"), None),
    }
    for name, (run, public) in runs.items():
        trusted = public or run.public_key
        before = run_cli("evidence", "verify", run.bundle, "--public-key", trusted)
        envelope = json.loads(run.envelope.read_text())
        assert "ephemeral_key" not in envelope
        envelope["ephemeral_key"] = flag
        run.envelope.write_text(json.dumps(envelope))

        after = run_cli("evidence", "verify", run.bundle, "--public-key", trusted)

        assert (after.code, after.out, after.err) == (before.code, before.out, before.err), name
        assert after.code == 0, after.err
        assert ("signed with an ephemeral key" in after.err) == (name == "ephemeral")


def test_the_envelope_public_key_is_never_the_key_that_is_trusted(
    signed: RecordedRun, user_key: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    """A verifier with a trusted key ignores the envelope's key hint; without one, a hint
    that does not match the signature is a signature that does not verify."""
    envelope = json.loads(signed.envelope.read_text())
    other = tmp_path / "other" / "key.pem"
    generate_signing_key(other)
    envelope["public_key"] = base64.b64encode(load_signing_key(other).public_raw).decode()
    signed.envelope.write_text(json.dumps(envelope))

    trusted = run_cli("evidence", "verify", signed.bundle, "--public-key", public_of(user_key))
    hinted = run_cli("evidence", "verify", signed.bundle, "--public-key", public_of(other))
    unkeyed = run_cli("evidence", "verify", signed.bundle)

    assert trusted.code == 0, trusted.err
    assert hinted.code == unkeyed.code == 2
    assert "Ed25519 signature does not verify under any trusted key" in one_error_line(hinted.err)
    assert "does not verify under the key the envelope names" in one_error_line(unkeyed.err)


def test_an_envelope_written_before_the_hint_was_optional_still_verifies(
    signed: RecordedRun, user_key: Path, run_cli: RunCli
) -> None:
    envelope = json.loads(signed.envelope.read_text())
    envelope["ephemeral_key"] = False
    signed.envelope.write_text(json.dumps(envelope))
    without_hint = {k: v for k, v in envelope.items() if k != "public_key"}

    old = run_cli("evidence", "verify", signed.bundle, "--public-key", public_of(user_key))
    signed.envelope.write_text(json.dumps(without_hint))
    bare = run_cli("evidence", "verify", signed.bundle, "--public-key", public_of(user_key))

    assert old.code == bare.code == 0, old.err + bare.err


def statement(bundle: Path, **changes: object) -> bytes:
    """An evidence-bundle statement about `bundle`, with `changes` (None drops a field)."""
    document: dict[str, object] = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [
            {
                "name": bundle.name,
                "digest": {"sha256": hashlib.sha256(bundle.read_bytes()).hexdigest()},
            }
        ],
        "predicateType": "urn:pytest-mc:predicate:evidence-bundle:v1",
        "predicate": {"ephemeral_key": False},
    }
    document.update(changes)
    return json.dumps({k: v for k, v in document.items() if v is not None}).encode()


PAYLOADS: list[tuple[str, Callable[[Path], bytes], str]] = [
    ("an empty object", lambda bundle: b"{}", "the signed statement is not an evidence-bundle"),
    ("not JSON", lambda bundle: b"\x00not json", "the signed statement is not valid JSON"),
    ("a JSON list", lambda bundle: b"[1, 2]", "the signed statement: top level is not a JSON"),
    (
        "no subject",
        lambda bundle: statement(bundle, subject=None),
        "statement is not an evidence-bundle statement: subject: Field required",
    ),
    (
        "a subject without digest",
        lambda bundle: statement(bundle, subject=[{"name": bundle.name}]),
        "subject[0].digest: Field required",
    ),
    (
        "a digest without sha256",
        lambda bundle: statement(bundle, subject=[{"name": bundle.name, "digest": {}}]),
        "does not match evidence-v0.3.1-mc.json",
    ),
    (
        "no ephemeral flag",
        lambda bundle: statement(bundle, predicate={}),
        "predicate.ephemeral_key: Field required",
    ),
]


@pytest.mark.parametrize(
    ("payload", "fragment"), [(p, f) for _, p, f in PAYLOADS], ids=[n for n, _, _ in PAYLOADS]
)
def test_a_malformed_signed_statement_is_one_error_line(
    signed: RecordedRun,
    user_key: Path,
    run_cli: RunCli,
    payload: Callable[[Path], bytes],
    fragment: str,
) -> None:
    """Signed by the trusted key itself, so only the statement's shape can be wrong."""
    key = load_signing_key(user_key)
    data = payload(signed.bundle)
    envelope = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(data).decode(),
        "signatures": [
            {
                "keyid": key.keyid,
                "sig": base64.b64encode(key.private.sign(pae(PAYLOAD_TYPE, data))).decode(),
            }
        ],
        "public_key": base64.b64encode(key.public_raw).decode(),
    }
    signed.envelope.write_text(json.dumps(envelope))

    for trust in (("--public-key", public_of(user_key)), ()):
        result = run_cli("evidence", "verify", signed.bundle, *trust)

        assert result.code == 2
        line = one_error_line(result.err)
        assert fragment in line, line
        assert len(line) < 1_000


def test_an_unsigned_payload_of_an_empty_object_is_a_signature_that_does_not_verify(
    signed: RecordedRun, user_key: Path, run_cli: RunCli
) -> None:
    envelope = json.loads(signed.envelope.read_text())
    envelope["payload"] = base64.b64encode(b"{}").decode()
    signed.envelope.write_text(json.dumps(envelope))

    result = run_cli("evidence", "verify", signed.bundle, "--public-key", public_of(user_key))

    assert result.code == 2
    assert "Ed25519 signature does not verify" in one_error_line(result.err)


@pytest.mark.parametrize("replacement", ["a directory", "a named pipe"])
def test_an_artifact_that_is_not_a_regular_file_is_one_error_line(
    signed: RecordedRun, user_key: Path, run_cli: RunCli, replacement: str
) -> None:
    (artifact,) = signed.paths.artifacts.iterdir()
    artifact.unlink()
    if replacement == "a directory":
        artifact.mkdir()
    else:
        os.mkfifo(artifact)

    result = run_cli("evidence", "verify", signed.bundle, "--public-key", public_of(user_key))

    assert result.code == 2
    line = one_error_line(result.err)
    assert "artifact 'k6-summary-TENANT_004.txt' (record 5):" in line
    assert "is not a regular file; it was replaced" in line


@pytest.mark.parametrize("path", ["/etc/hostname", "../outside.txt", "artifacts/../../outside.txt"])
def test_an_artifact_path_outside_the_evidence_directory_is_refused(
    tmp_path: Path, path: str
) -> None:
    base = tmp_path / "dist"
    base.mkdir()
    (tmp_path / "outside.txt").write_text("x")
    artifact = Artifact(
        name="x" * 500,
        artifact_kind="report",
        path=path,
        sha256="0" * 64,
        size_bytes=1,
        media_type="text/plain",
    )

    with pytest.raises(BundleError, match="leaves the evidence directory") as caught:
        artifact_file(artifact, base=base, seq=3)

    assert len(str(caught.value)) < 600  # the 500-character name is quoted cut
