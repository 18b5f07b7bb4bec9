"""The rehearsal benchmark merges overlapping waits before comparing them with wall time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rehearsal.py"


def _merged_seconds():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_rehearsal", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.merged_seconds


def test_overlapping_waits_count_once_and_gaps_not_at_all() -> None:
    merged = _merged_seconds()
    # background k6 0-12 s under a chaos hold 2-8 s, then a stage hold 20-68 s
    assert merged([(0.0, 12.0), (2.0, 8.0), (20.0, 68.0)]) == 60.0
    assert merged([(5.0, 6.0), (0.0, 1.0), (0.5, 2.0)]) == 3.0
    assert merged([]) == 0.0
