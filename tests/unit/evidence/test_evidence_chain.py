"""The hash-chained record on disk: appending, linking, torn-tail repair and tamper detection
at the chain-file level (`read_chain` / `verify_chain`)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from pytest_mc.errors import BundleError
from pytest_mc.evidence.chain import (
    EvidenceChain,
    head_of,
    read_chain,
    record_hash,
    verify_chain,
)
from pytest_mc.evidence.records import GENESIS_HASH, ScenarioFinished, ScenarioStarted


def started(number: int, padding: int = 0) -> ScenarioStarted:
    return ScenarioStarted(nodeid=f"t.py::test_{number}", scenario="s" + "x" * padding)


def append_many(path: Path, count: int, *, writer: str = "controller") -> None:
    with EvidenceChain(path, writer=writer, durable=False) as chain:
        for number in range(count):
            chain.append(started(number))


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_appended_records_are_linked_by_hash_and_read_back_verified(tmp_path: Path) -> None:
    path = tmp_path / "chain.jsonl"
    with EvidenceChain(path, writer="controller") as chain:
        appended = [chain.append(started(number)) for number in range(5)]

    assert [record.seq for record in appended] == [0, 1, 2, 3, 4]
    assert appended[0].prev == GENESIS_HASH
    for before, after in itertools.pairwise(appended):
        assert after.prev == before.hash
    readout = read_chain(path)
    assert not readout.torn_tail
    verified = verify_chain(readout.records, where=path.name)
    assert verified == appended
    assert all(record_hash(raw) == raw["hash"] for raw in readout.records)
    head = head_of(verified)
    assert (head.records, head.seq, head.hash) == (5, 4, appended[-1].hash)


def test_two_writers_on_one_file_make_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "chain.jsonl"
    with (
        EvidenceChain(path, writer="gw0", durable=False) as first,
        EvidenceChain(path, writer="gw1", durable=False) as second,
    ):
        for number in range(10):
            (first if number % 3 else second).append(started(number))

    verified = verify_chain(read_chain(path).records, where=path.name)
    assert [record.seq for record in verified] == list(range(10))
    assert {record.writer for record in verified} == {"gw0", "gw1"}


def test_a_torn_tail_is_reported_not_as_tampering_and_cut_by_the_next_writer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chain.jsonl"
    append_many(path, 3)
    complete = path.read_bytes()
    with EvidenceChain(path, writer="doomed", durable=False) as chain:
        chain.append(started(99))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(complete) + (len(whole) - len(complete)) // 2])

    readout = read_chain(path)
    assert readout.torn_tail
    assert len(verify_chain(readout.records, where=path.name)) == 3

    with EvidenceChain(path, writer="next", durable=False) as chain:
        repaired = chain.append(started(3))
    readout = read_chain(path)
    assert not readout.torn_tail
    verified = verify_chain(readout.records, where=path.name)
    assert [record.seq for record in verified] == [0, 1, 2, 3]
    assert verified[3] == repaired
    assert verified[3].prev == verified[2].hash
    assert b'"test_99"' not in path.read_bytes()


def test_a_file_holding_only_a_torn_first_line_restarts_from_genesis(tmp_path: Path) -> None:
    path = tmp_path / "chain.jsonl"
    path.write_bytes(b'{"seq":0,"prev":"00')
    assert read_chain(path).torn_tail

    with EvidenceChain(path, writer="next", durable=False) as chain:
        first = chain.append(started(0))

    assert (first.seq, first.prev) == (0, GENESIS_HASH)
    assert len(lines_of(path)) == 1


def test_records_and_torn_tails_longer_than_the_tail_window_are_handled(tmp_path: Path) -> None:
    """The writer reads only the file's tail (64 KiB at first): a longer last line, or a
    longer torn tail, must still be found whole."""
    path = tmp_path / "chain.jsonl"
    with EvidenceChain(path, writer="controller", durable=False) as chain:
        chain.append(started(0))
        big = chain.append(started(1, padding=300_000))
        after_big = chain.append(started(2))
        assert (after_big.seq, after_big.prev) == (2, big.hash)
        chain.append(started(3, padding=200_000))
    whole = path.read_bytes()
    path.write_bytes(whole[:-100_000])

    with EvidenceChain(path, writer="next", durable=False) as chain:
        repaired = chain.append(started(4))

    verified = verify_chain(read_chain(path).records, where=path.name)
    assert [record.seq for record in verified] == [0, 1, 2, 3]
    assert repaired.prev == after_big.hash


def test_altered_record_in_the_chain_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "chain.jsonl"
    append_many(path, 4)
    lines = lines_of(path)
    lines[2] = lines[2].replace(b"test_2", b"test_7")
    path.write_bytes(b"".join(lines))

    with pytest.raises(BundleError, match=r"record 2 \(seq 2\): hash mismatch.*altered"):
        verify_chain(read_chain(path).records, where=path.name)


def test_deleted_record_in_the_chain_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "chain.jsonl"
    append_many(path, 4)
    lines = lines_of(path)
    del lines[1]
    path.write_bytes(b"".join(lines))

    with pytest.raises(BundleError, match=r"record 1 \(seq 2\): expected seq 1; a record was del"):
        verify_chain(read_chain(path).records, where=path.name)


def test_reordered_records_in_the_chain_file_are_named(tmp_path: Path) -> None:
    path = tmp_path / "chain.jsonl"
    append_many(path, 4)
    lines = lines_of(path)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_bytes(b"".join(lines))

    with pytest.raises(BundleError, match=r"record 1 \(seq 2\): expected seq 1.*reordered"):
        verify_chain(read_chain(path).records, where=path.name)


def test_a_record_spliced_in_from_another_chain_is_named(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.jsonl", tmp_path / "theirs.jsonl"
    append_many(ours, 3)
    append_many(theirs, 3, writer="elsewhere")
    lines = lines_of(ours)
    lines[1] = lines_of(theirs)[1]
    ours.write_bytes(b"".join(lines))

    with pytest.raises(BundleError, match=r"record 1 \(seq 1\): prev does not match the hash"):
        verify_chain(read_chain(ours).records, where=ours.name)


def test_a_rehashed_record_that_breaks_the_schema_is_named(tmp_path: Path) -> None:
    path = tmp_path / "chain.jsonl"
    with EvidenceChain(path, writer="controller", durable=False) as chain:
        chain.append(ScenarioFinished(nodeid="t.py::a", outcome="passed", duration_seconds=1.0))
    fields = json.loads(path.read_bytes())
    fields["body"]["outcome"] = "brilliant"
    fields["hash"] = record_hash(fields)
    path.write_text(json.dumps(fields) + "\n")

    with pytest.raises(BundleError, match=r"record 0 \(seq 0\): body\..*schema violation"):
        verify_chain(read_chain(path).records, where=path.name)


def test_a_line_that_is_not_json_is_named_by_line_number(tmp_path: Path) -> None:
    path = tmp_path / "chain.jsonl"
    append_many(path, 3)
    lines = lines_of(path)
    lines[1] = b"{not json\n"
    path.write_bytes(b"".join(lines))

    with pytest.raises(BundleError, match=r"chain\.jsonl:2: record is not valid JSON"):
        read_chain(path)


def test_a_missing_chain_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"evidence chain not found: .*--mc-out"):
        read_chain(tmp_path / "absent.jsonl")
