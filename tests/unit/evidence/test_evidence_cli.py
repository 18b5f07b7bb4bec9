"""`mc-verify evidence validate|show|verify` on good and bad input: a missing, truncated,
binary, non-object or schema-invalid bundle is exit 2 with one `error:` line and no
traceback; a good bundle validates and is summarised per tenant."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from evidence_helpers import RecordedRun, RecordRun, RunCli

Corruption = Callable[[Path], None]


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def binary(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")


def a_list(path: Path) -> None:
    path.write_text("[1, 2, 3]\n")


def without_release(path: Path) -> None:
    document = json.loads(path.read_text())
    del document["release"]
    path.write_text(json.dumps(document))


def wrong_type(path: Path) -> None:
    document = json.loads(path.read_text())
    document["rehearsal"] = "yes"
    path.write_text(json.dumps(document))


def missing(path: Path) -> None:
    path.unlink()


CORRUPTIONS: list[tuple[Corruption, str]] = [
    (missing, "evidence bundle not found: "),
    (truncate, "is not valid JSON"),
    (binary, "is not valid JSON"),
    (a_list, "top level is not a JSON object"),
    (without_release, "'release' is a required property"),
    (wrong_type, "rehearsal: 'yes' is not of type 'boolean'"),
]


@pytest.fixture
def run(record_run: RecordRun) -> RecordedRun:
    return record_run("TENANT_004", lag_seconds=75.0)


@pytest.mark.parametrize("command", ["validate", "show", "verify"])
@pytest.mark.parametrize(
    ("corrupt", "fragment"), CORRUPTIONS, ids=lambda c: getattr(c, "__name__", "")
)
def test_a_bad_bundle_is_one_error_line_and_exit_2(
    run: RecordedRun, run_cli: RunCli, command: str, corrupt: Corruption, fragment: str
) -> None:
    corrupt(run.bundle)

    result = run_cli("evidence", command, run.bundle)

    assert result.code == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert fragment in lines[0]
    assert run.bundle.name in lines[0]
    assert "Traceback" not in result.err


def test_a_malformed_signature_envelope_is_one_error_line(
    run: RecordedRun, run_cli: RunCli
) -> None:
    run.envelope.write_text("{ not json")

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "dsse.json is not valid JSON" in result.err


def test_a_good_bundle_validates(run: RecordedRun, run_cli: RunCli) -> None:
    result = run_cli("evidence", "validate", run.bundle)

    assert result.code == 0, result.err
    assert "valid against the evidence-bundle schema (8 records)" in result.out


def test_show_summarises_runs_sections_and_dod(run: RecordedRun, run_cli: RunCli) -> None:
    result = run_cli("evidence", "show", run.bundle)

    assert result.code == 0, result.err
    assert "REHEARSAL" in result.out
    assert "TENANT_004" in result.out
    assert "Definition of Done" in result.out
    assert "p1_incidents" in result.out


def test_show_json_has_the_tenant_section_without_the_chains(
    run: RecordedRun, run_cli: RunCli
) -> None:
    result = run_cli("evidence", "show", "--json", run.bundle)

    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert "chains" not in shown
    (measurement, p1) = shown["tenants"]["TENANT_004"]["measurements"]
    assert (measurement["qi_id"], measurement["value"], measurement["verdict"]) == (
        "replication_lag",
        75.0,
        "fail",
    )
    assert (p1["qi_id"], p1["verdict"]) == ("p1_incidents", "pass")


def test_keygen_makes_a_private_key_that_signs_verifiable_bundles(
    tmp_path: Path, record_run: RecordRun, run_cli: RunCli
) -> None:
    key = tmp_path / "keys" / "signing.pem"
    made = run_cli("evidence", "keygen", key)
    assert made.code == 0, made.err
    public = tmp_path / "keys" / "signing.pub.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in public.read_text()

    signed = record_run(signing_key=key)
    verified = run_cli("evidence", "verify", signed.bundle, "--public-key", public)
    assert verified.code == 0, verified.err
    assert "ephemeral" not in verified.err

    other = tmp_path / "other.pem"
    assert run_cli("evidence", "keygen", other).code == 0
    wrong = run_cli("evidence", "verify", signed.bundle, "--public-key", tmp_path / "other.pub.pem")
    assert wrong.code != 0


def test_keygen_never_overwrites_a_key(tmp_path: Path, run_cli: RunCli) -> None:
    key = tmp_path / "signing.pem"
    assert run_cli("evidence", "keygen", key).code == 0
    before = key.read_bytes()
    again = run_cli("evidence", "keygen", key)
    assert again.code == 2
    assert again.err.startswith("error:")
    assert "already exists" in again.err
    assert len(again.err.strip().splitlines()) == 1
    assert key.read_bytes() == before
