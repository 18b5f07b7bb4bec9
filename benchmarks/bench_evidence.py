"""Evidence chain throughput: append cost must not grow with history; verify speed.

Prints append throughput (records/s) on a chain that already holds 1,000 records and on
one that holds 100,000, and their ratio (target <= 1.5), for durable (fsync) appends and,
separately, non-durable appends (the same comparison without fsync noise); then verify
throughput (records/s) over the 100,000-record chain (verified before the append blocks
add to it). Both chains are measured in the same
run, in alternating blocks, so drift in the machine affects both alike.

    .venv/bin/python benchmarks/bench_evidence.py [--durable-appends N] [--fast-appends N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pytest_mc.evidence.chain import EvidenceChain, read_chain, verify_chain
from pytest_mc.evidence.records import ScenarioFinished

SMALL_HISTORY = 1_000
LARGE_HISTORY = 100_000
BLOCKS = 5
RATIO_TARGET = 1.5


def body(number: int) -> ScenarioFinished:
    return ScenarioFinished(
        nodeid=f"features/test_plan.py::test_scenario_{number}",
        tenant="TENANT_004",
        outcome="passed",
        duration_seconds=0.25,
        message=None,
    )


def build(path: Path, count: int) -> None:
    with EvidenceChain(path, writer="prefix", durable=False) as chain:
        for number in range(count):
            chain.append(body(number))


def append_rate(path: Path, count: int, *, durable: bool) -> float:
    """Records per second for `count` appends by a fresh writer on `path`."""
    with EvidenceChain(path, writer="bench", durable=durable) as chain:
        started = time.perf_counter()
        for number in range(count):
            chain.append(body(number))
        elapsed = time.perf_counter() - started
    return count / elapsed


def compare(small: Path, large: Path, count: int, *, durable: bool) -> tuple[float, float]:
    """Median records/s on each chain over alternating blocks of `count` appends."""
    small_rates, large_rates = [], []
    for _ in range(BLOCKS):
        small_rates.append(append_rate(small, count, durable=durable))
        large_rates.append(append_rate(large, count, durable=durable))
    return statistics.median(small_rates), statistics.median(large_rates)


def report(label: str, small_rate: float, large_rate: float) -> None:
    ratio = small_rate / large_rate
    verdict = "ok" if ratio <= RATIO_TARGET else f"ABOVE TARGET {RATIO_TARGET}"
    print(f"{label}")
    print(f"  with {SMALL_HISTORY:>7,} records in the chain: {small_rate:10,.0f} records/s")
    print(f"  with {LARGE_HISTORY:>7,} records in the chain: {large_rate:10,.0f} records/s")
    print(f"  ratio (1k / 100k): {ratio:.2f}  (target <= {RATIO_TARGET}: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durable-appends", type=int, default=200, help="per block")
    parser.add_argument("--fast-appends", type=int, default=2_000, help="per block")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as directory:
        small, large = Path(directory) / "small.jsonl", Path(directory) / "large.jsonl"
        started = time.perf_counter()
        build(small, SMALL_HISTORY)
        build(large, LARGE_HISTORY)
        print(
            f"built chains of {SMALL_HISTORY:,} and {LARGE_HISTORY:,} records in "
            f"{time.perf_counter() - started:.1f}s "
            f"({large.stat().st_size / 1e6:.1f} MB for the larger)"
        )

        # Verify first, while the large chain holds exactly LARGE_HISTORY records.
        started = time.perf_counter()
        readout = read_chain(large)
        read_seconds = time.perf_counter() - started
        records = verify_chain(readout.records, where=large.name)
        total_seconds = time.perf_counter() - started
        print(
            f"verify {len(records):,} records: {len(records) / total_seconds:,.0f} records/s "
            f"({total_seconds:.1f}s, of which reading and parsing {read_seconds:.1f}s)"
        )

        report(
            f"durable appends (fsync), median of {BLOCKS} blocks of {args.durable_appends}:",
            *compare(small, large, args.durable_appends, durable=True),
        )
        report(
            f"non-durable appends, median of {BLOCKS} blocks of {args.fast_appends}:",
            *compare(small, large, args.fast_appends, durable=False),
        )


if __name__ == "__main__":
    main()
