"""The rehearsal benchmark merges overlapping waits before comparing them with wall time."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_rehearsal.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_rehearsal", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _merged_seconds() -> Callable[[list[tuple[float, float]]], float]:
    merged: Callable[[list[tuple[float, float]]], float] = _bench().merged_seconds
    return merged


def test_overlapping_waits_count_once_and_gaps_not_at_all() -> None:
    merged = _merged_seconds()
    # background k6 0-12 s under a chaos hold 2-8 s, then a stage hold 20-68 s
    assert merged([(0.0, 12.0), (2.0, 8.0), (20.0, 68.0)]) == 60.0
    assert merged([(5.0, 6.0), (0.0, 1.0), (0.5, 2.0)]) == 3.0
    assert merged([]) == 0.0


def test_a_finished_run_is_timed_from_its_own_start_not_the_chains(tmp_path: Path) -> None:
    """dist/'s chain keeps every run; the last one is timed, and a bake it ran inside a
    scenario (its own run_started) does not restart the clock."""
    records = [
        ("controller", "run_started", "2026-12-03T10:00:00+00:00"),
        ("controller", "run_finished", "2026-12-03T10:30:00+00:00"),
        ("controller", "run_started", "2026-12-03T11:00:00+00:00"),
        ("bake-1", "run_started", "2026-12-03T11:10:00+00:00"),
        ("controller", "scenario_finished", "2026-12-03T11:25:00+00:00"),
    ]
    (tmp_path / "evidence-v0.3.1-mc.chain.jsonl").write_text(
        "".join(
            json.dumps({"at": at, "writer": writer, "body": {"kind": kind}}) + "\n"
            for writer, kind, at in records
        )
    )
    assert _bench().chain_wall_seconds(tmp_path) == 25 * 60
