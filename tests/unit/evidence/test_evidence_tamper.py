"""`mc-verify evidence verify` against tampered bundles: every edit of a record, an artifact,
the signature, the record order, a view or the catalog is caught with exit 2 and one line
naming what broke. The bundle's records are edited as stored (schema-valid edits, as an
attacker would make), then the CLI is run in-process."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from evidence_helpers import RecordedRun, RecordRun, RunCli

from pytest_mc.evidence.chain import record_hash

Document = dict[str, object]


def rewrite(run: RecordedRun, edit: Callable[[Document], None]) -> None:
    document = run.document()
    edit(document)
    run.bundle.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def flip_byte(path: Path, needle: bytes, *, after: bytes = b"", index: int = 0) -> None:
    """Change one byte (the `index`-th of the first `needle` after `after`) to another
    byte of the same class, so the file stays valid JSON."""
    data = bytearray(path.read_bytes())
    position = data.index(needle, data.index(after)) + index
    old = data[position]
    if chr(old).isdigit():
        new = ord("0") + (old - ord("0") + 1) % 10
    elif chr(old).isalpha():
        new = ord("a") if old != ord("a") else ord("b")
    else:
        raise AssertionError(f"will not flip {chr(old)!r}: the file would stop being JSON")
    data[position] = new
    path.write_bytes(bytes(data))


def assert_one_error_line(result_err: str, *fragments: str) -> None:
    lines = result_err.strip().splitlines()
    assert len(lines) == 1, result_err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result_err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def run(record_run: RecordRun) -> RecordedRun:
    return record_run("TENANT_004")


def test_an_intact_bundle_verifies(run: RecordedRun, run_cli: RunCli) -> None:
    result = run_cli("evidence", "verify", run.bundle, "--public-key", run.public_key)

    assert result.code == 0, result.err
    assert "verified — schema, 8 chained records in 1 chain(s), views, 1 artifacts" in result.out
    assert "ephemeral key" in result.err
    assert "rehearsal evidence" in result.err


@pytest.mark.parametrize(
    ("needle", "index", "what"),
    [
        (b'"qi_id": "replication_lag"', 12, "a letter of the QI id"),
        (b'"value": 42.0', 10, "a digit of the value"),
        (b'"nodeid": "features/x.py::TENANT_004"', 20, "a letter of the node id"),
    ],
)
def test_flipping_one_byte_of_a_record_names_the_record(
    run: RecordedRun, run_cli: RunCli, needle: bytes, index: int, what: str
) -> None:
    flip_byte(run.bundle, needle, after=b'"chains"', index=index)

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2, what
    assert_one_error_line(
        result.err,
        "chain 0 record 2 (seq 2)" if b"nodeid" not in needle else "chain 0 record 1 (seq 1)",
        "hash mismatch, the record's content was altered",
    )


def test_a_flip_that_breaks_the_schema_names_the_record_path(
    run: RecordedRun, run_cli: RunCli
) -> None:
    flip_byte(run.bundle, b'"verdict": "pass"', after=b'"chains"', index=12)

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(result.err, "chains[0].records[2]", "evidence-bundle.schema.json")


def test_deleting_a_record_names_the_first_record_after_the_gap(
    run: RecordedRun, run_cli: RunCli
) -> None:
    rewrite(run, lambda document: document["chains"][0]["records"].pop(3))  # type: ignore[index]

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(
        result.err,
        "chain 0 record 3 (seq 4): expected seq 3; a record was deleted, inserted or reordered",
    )


def test_deleting_the_last_record_is_caught_by_the_head(run: RecordedRun, run_cli: RunCli) -> None:
    rewrite(run, lambda document: document["chains"][0]["records"].pop())  # type: ignore[index]

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(
        result.err, "chain 0: head does not match its last record; records were removed"
    )


def test_reordering_two_records_names_the_first_out_of_place(
    run: RecordedRun, run_cli: RunCli
) -> None:
    def swap(document: Document) -> None:
        records = document["chains"][0]["records"]  # type: ignore[index]
        records[3], records[4] = records[4], records[3]

    rewrite(run, swap)

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(result.err, "chain 0 record 3 (seq 4): expected seq 3", "reordered")


def test_reordering_with_renumbered_and_rehashed_records_is_still_caught(
    run: RecordedRun, run_cli: RunCli
) -> None:
    """An attacker who also fixes seq and the record's own hash breaks the prev links."""

    def swap_and_rehash(document: Document) -> None:
        records = document["chains"][0]["records"]  # type: ignore[index]
        records[3], records[4] = records[4], records[3]
        for seq in (3, 4):
            records[seq]["seq"] = seq
            records[seq]["hash"] = record_hash(records[seq])

    rewrite(run, swap_and_rehash)

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(result.err, "chain 0 record 3 (seq 3): prev does not match")


@pytest.mark.parametrize(
    ("view", "edit"),
    [
        (
            "tenants",
            lambda d: d["tenants"]["TENANT_004"]["measurements"][0].update(verdict="fail"),
        ),
        ("dod", lambda d: d["dod"][0].update(satisfied=True)),
        ("runs", lambda d: d["runs"][0].update(exit_status=1)),
        ("autonomy_pilot", lambda d: d["autonomy_pilot"].update(measurements=[])),
    ],
)
def test_editing_a_view_is_caught_and_names_the_view(
    run: RecordedRun, run_cli: RunCli, view: str, edit: Callable[[Document], None]
) -> None:
    rewrite(run, edit)

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(
        result.err,
        f"'{view}' does not match what its chain records say; the view was edited",
    )


def test_flipping_one_byte_of_an_artifact_names_the_artifact(
    run: RecordedRun, run_cli: RunCli
) -> None:
    (artifact,) = (run.paths.artifacts).iterdir()
    flip_byte(artifact, b"p95=180", index=4)

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(
        result.err, "artifact 'k6-summary-TENANT_004.txt' (record 5) was altered", artifact.name
    )


def test_a_missing_artifact_is_named(run: RecordedRun, run_cli: RunCli) -> None:
    (artifact,) = (run.paths.artifacts).iterdir()
    artifact.unlink()

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(result.err, "artifact 'k6-summary-TENANT_004.txt' (record 5) is missing")


def test_flipping_one_byte_of_the_signature_is_caught(run: RecordedRun, run_cli: RunCli) -> None:
    envelope = json.loads(run.envelope.read_text())
    signature = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    signature[10] ^= 0x01
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(signature)).decode()
    run.envelope.write_text(json.dumps(envelope))

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(result.err, "dsse.json: Ed25519 signature does not verify", "was altered")


def test_a_signature_byte_that_is_no_longer_base64_is_caught(
    run: RecordedRun, run_cli: RunCli
) -> None:
    envelope = json.loads(run.envelope.read_text())
    envelope["signatures"][0]["sig"] = "*" + envelope["signatures"][0]["sig"][1:]
    run.envelope.write_text(json.dumps(envelope))

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(result.err, "dsse.json: not valid base64 (altered)")


def test_a_bundle_edited_outside_records_and_views_is_caught_by_the_signature(
    run: RecordedRun, run_cli: RunCli
) -> None:
    flip_byte(run.bundle, b'"generated_at": "', index=20)

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(result.err, "does not match", "the bundle changed after signing")


def test_a_missing_signature_is_caught(run: RecordedRun, run_cli: RunCli) -> None:
    run.envelope.unlink()

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert_one_error_line(result.err, "dsse.json is missing; the bundle is unsigned")


def test_a_bundle_signed_by_another_key_than_the_trusted_one_is_refused(
    tmp_path: Path, record_run: RecordRun, run_cli: RunCli
) -> None:
    signer, stranger = tmp_path / "signer.pem", tmp_path / "stranger.pem"
    for path in (signer, stranger):
        path.write_bytes(
            Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    run = record_run("TENANT_004", signing_key=signer)

    trusted = run_cli("evidence", "verify", run.bundle, "--public-key", signer)
    refused = run_cli("evidence", "verify", run.bundle, "--public-key", stranger)

    assert trusted.code == 0, trusted.err
    assert "ephemeral" not in trusted.err
    assert refused.code == 2
    assert_one_error_line(refused.err, "is not a trusted key (trusted: ed25519:")


def test_a_catalog_threshold_edited_under_its_frozen_version_is_refused(
    run: RecordedRun, run_cli: RunCli, edited_catalog: Path
) -> None:
    result = run_cli("evidence", "verify", run.bundle, "--catalog", edited_catalog)

    assert result.code == 2
    assert_one_error_line(
        result.err, "QI catalog 1.0.0", "was changed under its frozen version", "replication_lag"
    )


def test_a_bundle_checked_against_another_catalog_names_both(
    run: RecordedRun, run_cli: RunCli, other_catalog_path: Path
) -> None:
    result = run_cli("evidence", "verify", run.bundle, "--catalog", other_catalog_path)

    assert result.code == 2
    assert_one_error_line(
        result.err,
        "was made against QI catalog 1.0.0",
        "not the catalog given (1.1.0",
        "--catalog",
    )
