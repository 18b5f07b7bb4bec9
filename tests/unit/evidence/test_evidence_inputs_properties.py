"""Property: no evidence bundle, envelope or artifact, however broken, makes `mc-verify`
trace back.

Starting from a bundle a recorded run really published: the bundle's JSON mutated (a value
replaced by a hostile one, nested deeply, dropped, a key added) or its bytes damaged; the
DSSE envelope generated from the committed schema, mutated or damaged; an artifact deleted,
emptied, altered or replaced by a directory. `evidence validate|show|verify` exit 0 or 2 and
`dod` 0, 1 or 2, always with at most one `error:` line of bounded length.
"""

from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from evidence_helpers import RecordedRun, RecordRun
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from input_properties import (
    PropertyCounter,
    as_json,
    check_outcome,
    damaged_bytes,
    examples,
    mutated,
    paths,
)

from pytest_mc.cli.main import main
from pytest_mc.schemas import schema_path

# (arguments, exit codes DESIGN §9 documents for them)
BUNDLE_COMMANDS = st.sampled_from(
    [
        (["evidence", "validate"], {0, 2}),
        (["evidence", "show"], {0, 2}),
        (["evidence", "show", "--json"], {0, 2}),
        (["evidence", "verify"], {0, 2}),
        (["dod"], {0, 1, 2}),
        (["dod", "--decision"], {0, 1, 2}),
    ]
)
VERIFYING_COMMANDS = st.sampled_from([(["evidence", "verify"], {0, 2}), (["dod"], {0, 1, 2})])


def _envelope_schema() -> dict[str, object]:
    schema: dict[str, object] = json.loads(schema_path("dsse-envelope").read_text("utf-8"))
    schema.pop("$id")  # hypothesis-jsonschema resolves local references only without a base URI
    return schema


@dataclass(frozen=True)
class Published:
    """A published run and its files as published (every example starts from these)."""

    run: RecordedRun
    bundle: bytes
    document: object
    document_paths: list[tuple[object, ...]]
    envelope: bytes
    artifacts: dict[str, bytes]
    chain_records: list[object]


@pytest.fixture
def published(record_run: RecordRun) -> Published:
    """One run's bundle, envelope and artifact, as a session publishes them (built once per
    test function, not per example)."""
    run = record_run("TENANT_004", lag_seconds=42.0)
    bundle = run.bundle.read_bytes()
    document = json.loads(bundle)
    return Published(
        run=run,
        bundle=bundle,
        document=document,
        document_paths=paths(document),
        envelope=run.envelope.read_bytes(),
        artifacts={p.name: p.read_bytes() for p in run.paths.artifacts.iterdir() if p.is_file()},
        chain_records=[json.loads(line) for line in run.chain.read_bytes().splitlines()],
    )


def run_command(
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    command: tuple[list[str], set[int]],
    bundle: Path,
) -> None:
    arguments, codes = command
    capsys.readouterr()
    code = tried.call(main, [*arguments, str(bundle)])
    check_outcome(code, capsys.readouterr().err, codes)


@examples(400)
@given(data=st.data(), command=BUNDLE_COMMANDS)
def test_a_mutated_bundle_is_read_or_refused_in_one_line(
    published: Published,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    data: st.DataObject,
    command: tuple[list[str], set[int]],
) -> None:
    document = data.draw(mutated(published.document, published.document_paths))
    published.run.bundle.write_bytes(as_json(document))
    run_command(tried, capsys, command, published.run.bundle)


@examples(300)
@given(data=st.data(), command=BUNDLE_COMMANDS)
def test_a_damaged_bundle_file_is_read_or_refused_in_one_line(
    published: Published,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    data: st.DataObject,
    command: tuple[list[str], set[int]],
) -> None:
    published.run.bundle.write_bytes(data.draw(damaged_bytes(published.bundle)))
    run_command(tried, capsys, command, published.run.bundle)


@examples(300)
@given(data=st.data())
def test_a_mutated_raw_chain_is_read_or_refused_in_one_line(
    published: Published,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    data: st.DataObject,
) -> None:
    """`evidence verify --chain` on a crashed run's raw chain file, one record mutated."""
    records = copy.deepcopy(published.chain_records)
    at = data.draw(st.integers(min_value=0, max_value=len(records) - 1))
    records[at] = data.draw(mutated(records[at]))
    published.run.chain.write_bytes(b"".join(as_json(record) + b"\n" for record in records))
    capsys.readouterr()
    code = tried.call(main, ["evidence", "verify", "--chain", str(published.run.chain)])
    check_outcome(code, capsys.readouterr().err, {0, 2})


@examples(200)
@given(
    data=st.data(),
    source=st.sampled_from(["schema", "mutated", "damaged"]),
    command=VERIFYING_COMMANDS,
)
def test_a_bad_signature_envelope_is_refused_in_one_line(
    published: Published,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    data: st.DataObject,
    source: str,
    command: tuple[list[str], set[int]],
) -> None:
    envelope = published.envelope
    if source == "schema":
        written = as_json(data.draw(from_schema(_envelope_schema())))
    elif source == "mutated":
        document = json.loads(envelope)
        written = as_json(data.draw(mutated(document, paths(document))))
    else:
        written = data.draw(damaged_bytes(envelope))
    published.run.envelope.write_bytes(written)
    run_command(tried, capsys, command, published.run.bundle)


@examples(100)
@given(
    damage=st.sampled_from(["delete", "empty", "alter", "directory"]), command=VERIFYING_COMMANDS
)
def test_a_damaged_artifact_is_refused_in_one_line(
    published: Published,
    tried: PropertyCounter,
    capsys: pytest.CaptureFixture[str],
    damage: str,
    command: tuple[list[str], set[int]],
) -> None:
    artifacts = published.run.paths.artifacts
    originals = published.artifacts
    for name, content in originals.items():  # every example starts from the published files
        target = artifacts / name
        if target.is_dir():
            shutil.rmtree(target)
        target.write_bytes(content)
    target = artifacts / sorted(originals)[0]
    if damage == "delete":
        target.unlink()
    elif damage == "empty":
        target.write_bytes(b"")
    elif damage == "alter":
        target.write_bytes(originals[target.name] + b"!")
    else:
        target.unlink()
        target.mkdir()
    run_command(tried, capsys, command, published.run.bundle)
