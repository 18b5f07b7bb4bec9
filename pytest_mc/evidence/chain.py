"""The append-only, hash-chained evidence record on disk (one JSON line per record).

Crash safety: a record is appended with a single `write` under an exclusive `flock` and,
when `durable`, fsynced before `append` returns; only then is it acknowledged. A kill at any
instant can leave at most a torn last line, which readers report as a torn tail (not as
tampering) and the next writer cuts off under the lock before appending. Several processes
(pytest-xdist workers) may append to one file: the lock serialises them into one chain.
Append cost does not grow with history: the writer reads only the file's tail.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import rfc8785
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from pytest_mc.errors import BundleError
from pytest_mc.evidence.records import GENESIS_HASH, ChainRecord, RecordBody
from pytest_mc.inputs import bounded, dotted, parse_json_object

_TAIL_CHUNK = 64 * 1024
_BODY_ADAPTER: TypeAdapter[RecordBody] = TypeAdapter(RecordBody)

JsonObject = dict[str, Any]


class ChainHead(BaseModel):
    """Where a chain ends: how many records, the last sequence number and hash."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    records: int
    seq: int
    hash: str


def record_hash(fields: JsonObject) -> str:
    """sha256 over the RFC 8785 canonical form of a record's fields other than `hash`."""
    unhashed = {key: value for key, value in fields.items() if key != "hash"}
    return hashlib.sha256(rfc8785.dumps(unhashed)).hexdigest()


class EvidenceChain:
    """Appends records to one chain file; safe across processes, crash-safe, O(1) per append."""

    def __init__(self, path: Path, *, writer: str, durable: bool = True) -> None:
        self.path = path
        self.writer = writer
        self.durable = durable
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)

    def __enter__(self) -> EvidenceChain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def append(self, body: RecordBody) -> ChainRecord:
        """Append `body` as the next record; returns once it is written (and fsynced if durable)."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            seq, prev = self._next_position()
            fields: JsonObject = {
                "seq": seq,
                "prev": prev,
                "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "writer": self.writer,
                "body": body.model_dump(mode="json"),
            }
            fields["hash"] = record_hash(fields)
            line = rfc8785.dumps(fields) + b"\n"
            view = memoryview(line)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if self.durable:
                os.fsync(self._fd)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return ChainRecord.model_validate(fields)

    def _next_position(self) -> tuple[int, str]:
        """(next seq, previous hash) from the last complete line; cuts a torn tail first."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return 0, GENESIS_HASH
        chunk = _TAIL_CHUNK
        while True:
            start = max(0, size - chunk)
            tail = os.pread(self._fd, size - start, start)
            if not tail.endswith(b"\n"):
                cut = tail.rfind(b"\n")
                if cut < 0 and start > 0:
                    chunk *= 2
                    continue
                # A writer died mid-line: that record was never acknowledged. Drop it.
                new_size = start + cut + 1 if cut >= 0 else 0
                os.ftruncate(self._fd, new_size)
                size = new_size
                if size == 0:
                    return 0, GENESIS_HASH
                continue
            body = tail[:-1]
            newline = body.rfind(b"\n")
            if newline < 0 and start > 0:
                chunk *= 2
                continue
            last = json.loads(body[newline + 1 :])
            return int(last["seq"]) + 1, str(last["hash"])


@dataclass(frozen=True)
class ChainReadout:
    """The raw records of a chain file, and whether a torn (unacknowledged) line ended it."""

    records: list[JsonObject]
    torn_tail: bool


def read_chain(path: Path) -> ChainReadout:
    """Read every complete line of a chain file as JSON objects (no verification)."""
    lines, torn = _chain_lines(path)
    records = [_parse_line(line, path=path, number=number) for number, line in enumerate(lines, 1)]
    return ChainReadout(records=records, torn_tail=torn is not None)


@dataclass(frozen=True)
class ChainScan:
    """What a chain file holds, read as far as it verifies (crash forensics).

    `records` is the valid prefix; `broken` says why the line after it is refused (an
    altered, inserted, deleted or unreadable record: tampering, not a crash); `torn_line`
    is the number of a torn last line (a writer killed mid-record: that record was never
    acknowledged), with `torn_bytes` bytes.
    """

    records: list[ChainRecord]
    lines: int
    broken: str | None
    torn_line: int | None
    torn_bytes: int


def scan_chain(path: Path) -> ChainScan:
    """Verify a chain file record by record and stop at the first break, without raising
    for it: the valid prefix is what a crashed or tampered run can still prove."""
    lines, torn = _chain_lines(path)
    raw: list[JsonObject] = []
    broken: str | None = None
    for number, line in enumerate(lines, 1):
        try:
            raw.append(_parse_line(line, path=path, number=number))
        except BundleError as exc:
            broken = str(exc)
            break
    records: list[ChainRecord] = []
    try:
        records.extend(iter_validated(raw, where=f"{path.name}"))
    except BundleError as exc:  # an earlier line than an unreadable one: it comes first
        broken = f"line {len(records) + 1}: {exc}"
    return ChainScan(
        records=records,
        lines=len(lines),
        broken=broken,
        torn_line=None if torn is None else len(lines) + 1,
        torn_bytes=0 if torn is None else len(torn),
    )


def _chain_lines(path: Path) -> tuple[list[bytes], bytes | None]:
    """The complete lines of a chain file, and its torn last line if it has one."""
    if not path.exists():
        raise BundleError(
            f"evidence chain not found: {path}; run the suite with --mc-out pointing at it"
        )
    if not path.is_file():
        raise BundleError(f"evidence chain {path} is not a file; pass the .chain.jsonl file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read evidence chain {path}: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    return lines[:-1], (lines[-1] or None)


def _parse_line(line: bytes, *, path: Path, number: int) -> JsonObject:
    return parse_json_object(
        line,
        where=f"evidence chain {path}:{number}: record",
        error=BundleError,
        hint="the record was altered or truncated; the chain is broken from here",
    )


def iter_validated(records: Sequence[JsonObject], *, where: str) -> Iterator[ChainRecord]:
    """Verify linkage and hashes in order and yield each record as a model.

    Raises `BundleError` naming the first broken record: altered content, a deleted or
    reordered record, or a record that does not match the schema.
    """
    expected_prev = GENESIS_HASH
    for index, fields in enumerate(records):
        label = f"{where} record {index} (seq {fields.get('seq')!r})"
        if fields.get("seq") != index:
            raise BundleError(
                f"{label}: expected seq {index}; a record was deleted, inserted or reordered "
                f"before it"
            )
        if fields.get("prev") != expected_prev:
            raise BundleError(
                f"{label}: prev does not match the hash of record {index - 1}; a record was "
                f"deleted, inserted or reordered before it"
            )
        try:
            recomputed = record_hash(fields)
        except rfc8785.CanonicalizationError as exc:
            raise BundleError(
                f"{label}: its content has no canonical form ({bounded(str(exc))}), so it was "
                f"not written by the suite: it was altered"
            ) from None
        if fields.get("hash") != recomputed:
            raise BundleError(f"{label}: hash mismatch, the record's content was altered")
        try:
            record = ChainRecord.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise BundleError(
                f"{label}: {dotted(first['loc'])}: {first['msg']} (schema violation)"
            ) from None
        expected_prev = record.hash
        yield record


def verify_chain(records: Sequence[JsonObject], *, where: str) -> list[ChainRecord]:
    """All records of a chain, verified; see `iter_validated`."""
    return list(iter_validated(records, where=where))


def head_of(records: Sequence[ChainRecord]) -> ChainHead:
    """The head of a verified chain."""
    if not records:
        return ChainHead(records=0, seq=-1, hash=GENESIS_HASH)
    last = records[-1]
    return ChainHead(records=len(records), seq=last.seq, hash=last.hash)


def parse_body(data: object) -> RecordBody:
    """Validate one record body (used by tests and the recorder's redaction pass)."""
    return _BODY_ADAPTER.validate_python(data)
