"""Benchmark of a rehearsal: how much of its wall time is the plan's own waiting.

Starts a reference staging at the given time scale, runs `mc-verify run` against it (the whole
plan by default, or `--plan A`, `B`, ...) and reads back the plan-time waits the steps logged
(`plan-waits.jsonl` beside the bundle: stage holds, chaos holds, k6 traffic, each as a
scheduled interval of wall time). Overlapping waits are merged, so the sum is the time the
rehearsal cannot avoid at that scale; the ratio of the run's wall time to it is the suite's
overhead (target ≤ 1.2 for the whole plan). Also prints the §B.2 KPI campaign's share of the
wall time, from its own record. `--analyse DIR` reads a finished run's output directory
instead (`dist/` of `./tasks rehearse`: the wall time from its chain's first and last
records). Prints figures; not a test.

    .venv/bin/python benchmarks/bench_rehearsal.py [--time-scale 600] [--plan A] [--keep DIR]
    .venv/bin/python benchmarks/bench_rehearsal.py --analyse dist
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from pytest_mc.steps.pacing import WAITS_FILE
from pytest_mc.target.local import start_local_staging, stop_local_staging

CHAIN_FILE = "evidence-v0.3.1-mc.chain.jsonl"
CAMPAIGN_ARTIFACT = "autonomy-campaign-"
TARGET_RATIO = 1.2


def merged_seconds(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of `[start, end)` intervals."""
    total = 0.0
    current_start: float | None = None
    current_end = 0.0
    for start, end in sorted(intervals):
        if current_start is None or start > current_end:
            if current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_start is not None:
        total += current_end - current_start
    return total


def read_waits(out: Path) -> list[dict[str, float | str]]:
    path = out / WAITS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def last_run_bounds(out: Path) -> tuple[datetime, datetime]:
    """When the last run of an output directory began and its chain's last record. The chain
    and plan-waits.jsonl of an output directory keep every run written into it; the last run
    is the one started by the last `run_started` that is not a bake's (a bake inside a
    scenario starts its own)."""
    records = [json.loads(line) for line in (out / CHAIN_FILE).read_text().splitlines() if line]
    starts = [
        index
        for index, record in enumerate(records)
        if record["body"].get("kind") == "run_started"
        and not str(record.get("writer", "")).startswith("bake-")
    ]
    first = records[starts[-1] if starts else 0]
    return datetime.fromisoformat(first["at"]), datetime.fromisoformat(records[-1]["at"])


def chain_wall_seconds(out: Path) -> float:
    """Wall seconds of the last run: its first chain record to the chain's last."""
    began, ended = last_run_bounds(out)
    return (ended - began).total_seconds()


def campaign_seconds(out: Path, since: float | None = None) -> float | None:
    """Wall seconds of the KPI campaign, from its record among the artifacts (the latest one
    that started at or after `since`, epoch seconds)."""
    spans = []
    for path in (out / "artifacts").glob(f"*{CAMPAIGN_ARTIFACT}*.json"):
        record = json.loads(path.read_text())
        started, finished = float(record["started_at"]), float(record["finished_at"])
        if since is None or started >= since:
            spans.append((started, finished))
    if not spans:
        return None
    started, finished = max(spans)
    return finished - started


def report(label: str, out: Path, wall: float, *, since: float | None = None) -> None:
    """The figures of a run; `since` (epoch seconds) keeps only the waits logged from then
    on, the last run's in an output directory that holds several."""
    waits = [w for w in read_waits(out) if since is None or float(w["started_at"]) >= since]
    intervals = [
        (float(w["started_at"]), float(w["started_at"]) + float(w["wall_seconds"])) for w in waits
    ]
    merged = merged_seconds(intervals)
    summed = sum(float(w["wall_seconds"]) for w in waits)
    plan_hours = sum(float(w["plan_seconds"]) for w in waits) / 3600
    print(label)
    print(f"  rehearsal wall time              {wall:8.1f} s")
    print(f"  plan-time waits logged           {len(waits):8d}  ({plan_hours:.1f} h of plan time)")
    print(f"  sum of scaled waits (unmerged)   {summed:8.1f} s")
    print(f"  scaled waits, overlaps merged    {merged:8.1f} s")
    if merged > 0:
        ratio = wall / merged
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(
            f"  wall / waits                     {ratio:8.2f}   "
            f"(target <= {TARGET_RATIO}: {verdict})"
        )
    else:
        print("  no waits were logged: the rehearsal did not run its scenarios")
    campaign = campaign_seconds(out, since)
    if campaign is not None:
        print(
            f"  KPI campaign                     {campaign:8.1f} s  "
            f"({campaign / wall:.1%} of the wall)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=600.0)
    parser.add_argument("--plan", default=None, help="plan sections to rehearse (default: all)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the output here")
    parser.add_argument("--analyse", type=Path, default=None, help="a finished run's output")
    args = parser.parse_args()
    if args.analyse is not None:
        began, _ = last_run_bounds(args.analyse)
        report(
            f"last run in {args.analyse}",
            args.analyse,
            chain_wall_seconds(args.analyse),
            since=began.timestamp(),
        )
        return 0

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-rehearsal-"))
    work.mkdir(parents=True, exist_ok=True)
    out = work / "out"
    started = time.monotonic()
    staging = start_local_staging(work / "staging", time_scale=args.time_scale)
    startup = time.monotonic() - started
    try:
        env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
        mc_verify = Path(sys.executable).parent / "mc-verify"
        plan = ["--plan", args.plan] if args.plan else []
        run_started = time.monotonic()
        done = subprocess.run(
            [
                str(mc_verify),
                "run",
                "--target",
                str(staging.profile_path),
                "--out",
                str(out),
                *plan,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=4 * 3600,
            check=False,
        )
        wall = time.monotonic() - run_started
    finally:
        stop_local_staging(staging)
    (work / "mc-verify-run.log").write_text(done.stdout + done.stderr)
    section = f"§{args.plan}" if args.plan else "whole-plan"
    report(f"{section} rehearsal at time scale {args.time_scale:g} (output: {work})", out, wall)
    print(f"  mc-verify run exit code          {done.returncode}")
    print(f"  staging start-up                 {startup:8.1f} s")
    for line in (done.stdout + done.stderr).strip().splitlines()[-3:]:
        print(f"  | {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
