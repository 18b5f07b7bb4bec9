"""Crash safety of the evidence chain: writers appending durable records are killed with
SIGKILL at random instants, again and again, on one chain file; after every kill the chain
verifies (a torn last line is allowed and reported as `torn_tail`) and holds every record a
writer acknowledged before it died.

Writers are forked from one helper process that has already imported the evidence code,
so each starts in milliseconds: the test asks for a writer, waits for "ready", lets it
append for a random 0-300 ms and kills it by its pid. A writer prints "ack <seq> <hash>"
only after `append` returned, which is exactly what "acknowledged" means.
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_mc.evidence.chain import EvidenceChain, read_chain, verify_chain
from pytest_mc.evidence.records import ScenarioStarted

KILLS_ALONE = 50
CONCURRENT_ROUNDS = 8
CONCURRENT_WRITERS = 3
LINE_TIMEOUT_SECONDS = 30.0  # only to turn a hung helper into a failure, never a measurement

ZYGOTE = '''
"""Forks chain writers on request ("spawn CHAIN NAME") and reaps them ("reap PID")."""
import os
import random
import sys
import time
from pathlib import Path

from pytest_mc.evidence.chain import EvidenceChain
from pytest_mc.evidence.records import ScenarioFinished

# Mostly small records, some longer than a page and a few larger than the writer's 64 KiB
# tail window; the chain stays small enough to verify whole after every kill.
SIZES = (80, 900, 6_000, 70_000)
WEIGHTS = (80, 15, 4, 1)


def write_forever(chain_path, name):
    chain = EvidenceChain(Path(chain_path), writer=name, durable=True)
    rng = random.Random(os.getpid())
    pid = os.getpid()
    sys.stdout.write(f"ready {pid}\\n")
    sys.stdout.flush()
    number = 0
    while True:
        record = chain.append(
            ScenarioFinished(
                nodeid=f"{name}::{number}",
                outcome="passed",
                duration_seconds=0.0,
                message="m" * rng.choices(SIZES, WEIGHTS)[0],
            )
        )
        # One short write to a pipe is atomic: an ack line is either whole or absent.
        sys.stdout.write(f"ack {pid} {record.seq} {record.hash}\\n")
        sys.stdout.flush()
        number += 1
        # A suite does some work between records; the pause also keeps the chain short
        # enough to verify whole after every kill. Most kills still land inside append().
        time.sleep(rng.uniform(0.0, 0.002))


for line in sys.stdin:
    command, *args = line.split()
    if command == "spawn":
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            try:
                write_forever(*args)
            finally:
                os._exit(70)
        sys.stdout.write(f"spawned {pid}\\n")
        sys.stdout.flush()
    elif command == "reap":
        pid = int(args[0])
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(f"reaped {pid} {status}\\n")
        sys.stdout.flush()
'''

_LINE = re.compile(r"^(?:(ready|spawned|reaped) (\d+)(?: -?\d+)?|ack (\d+) (\d+) ([0-9a-f]{64}))$")


@dataclass
class Writers:
    """The helper process and what its writers reported."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str | None]
    chain: Path
    ready: set[int] = field(default_factory=set)
    reaped: set[int] = field(default_factory=set)
    alive: set[int] = field(default_factory=set)
    acked: dict[int, str] = field(default_factory=dict)
    acks_by_writer: dict[int, int] = field(default_factory=dict)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_until(self, done: Callable[[], bool]) -> None:
        while not done():
            try:
                line = self.lines.get(timeout=LINE_TIMEOUT_SECONDS)
            except queue.Empty:
                pytest.fail(f"writer helper said nothing for {LINE_TIMEOUT_SECONDS}s")
            if line is None:
                pytest.fail(f"writer helper exited with {self.process.wait()}")
            self._handle(line)

    def _handle(self, line: str) -> None:
        match = _LINE.match(line)
        assert match is not None, f"unexpected line from a writer: {line!r}"
        event, pid, ack_pid, seq, digest = match.groups()
        if event == "ready":
            self.ready.add(int(pid))
        elif event == "spawned":
            self.alive.add(int(pid))
        elif event == "reaped":
            self.reaped.add(int(pid))
            self.alive.discard(int(pid))
        else:
            previous = self.acked.setdefault(int(seq), digest)
            assert previous == digest, f"seq {seq} acknowledged twice with different hashes"
            self.acks_by_writer[int(ack_pid)] = self.acks_by_writer.get(int(ack_pid), 0) + 1

    def spawn(self, count: int) -> list[int]:
        before = set(self.ready)
        for number in range(count):
            self.send(f"spawn {self.chain} w{len(before) + number}")
        self.wait_until(lambda: len(self.ready - before) == count)
        return sorted(self.ready - before)

    def kill_and_reap(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self.send(f"reap {pid}")
        self.wait_until(lambda: pid in self.reaped)


@pytest.fixture
def writers(tmp_path: Path) -> Iterator[Writers]:
    script = tmp_path / "chain_writers.py"
    script.write_text(ZYGOTE, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-u", str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    state = Writers(process=process, lines=lines, chain=tmp_path / "evidence.chain.jsonl")
    try:
        yield state
    finally:
        for pid in state.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()


def assert_chain_holds_every_ack(writers: Writers) -> bool:
    """Verify the whole chain; every acknowledged record is in it. Returns torn_tail."""
    readout = read_chain(writers.chain)
    records = verify_chain(readout.records, where=writers.chain.name)
    missing = [seq for seq in writers.acked if seq >= len(records)]
    assert not missing, f"acknowledged records lost: seq {missing[:5]} (chain has {len(records)})"
    for seq, digest in writers.acked.items():
        assert records[seq].hash == digest, f"acknowledged record {seq} was replaced"
    return readout.torn_tail


def test_kill_9_at_random_instants_never_loses_an_acknowledged_record(
    writers: Writers, record_property: Callable[[str, object], None]
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    record_property("seed", seed)
    torn = 0

    for kill in range(KILLS_ALONE):
        (pid,) = writers.spawn(1)
        time.sleep(rng.uniform(0.0, 0.3))
        writers.kill_and_reap(pid)
        try:
            torn += assert_chain_holds_every_ack(writers)
        except AssertionError as exc:
            raise AssertionError(f"after kill {kill + 1} (seed {seed}): {exc}") from exc

    assert len(writers.reaped) == KILLS_ALONE
    assert sum(writers.acks_by_writer.values()) == len(writers.acked) > 0
    record_property("torn_tails_seen", torn)
    record_property("acknowledged", len(writers.acked))
    print(f"seed {seed}: {len(writers.acked)} acknowledged, {torn} torn tails after 50 kills")


def test_kill_9_of_concurrent_writers_leaves_one_verifiable_chain(
    writers: Writers, record_property: Callable[[str, object], None]
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    record_property("seed", seed)

    for round_number in range(CONCURRENT_ROUNDS):
        pids = writers.spawn(CONCURRENT_WRITERS)
        started = time.monotonic()
        for pid, at in sorted(
            ((pid, rng.uniform(0.0, 0.3)) for pid in pids), key=lambda pair: pair[1]
        ):
            time.sleep(max(0.0, at - (time.monotonic() - started)))
            writers.kill_and_reap(pid)
        try:
            assert_chain_holds_every_ack(writers)
        except AssertionError as exc:
            raise AssertionError(f"after round {round_number + 1} (seed {seed}): {exc}") from exc

    # Several writers really did share the chain, and a survivor can still append.
    assert len([pid for pid, acks in writers.acks_by_writer.items() if acks]) > 1
    with EvidenceChain(writers.chain, writer="survivor") as chain:
        last = chain.append(ScenarioStarted(nodeid="after::crashes", scenario="survivor"))
    readout = read_chain(writers.chain)
    assert not readout.torn_tail
    records = verify_chain(readout.records, where=writers.chain.name)
    assert records[-1] == last
    assert len({record.writer for record in records} - {"survivor"}) > 1
