"""Benchmark of the §A rehearsal: how much of its wall time is the plan's own waiting.

Starts a reference staging at the given time scale, runs `mc-verify run --plan A` against it
(readiness, both waves' rollouts, the tripwires, the backouts) and reads back the plan-time
waits the steps logged (`plan-waits.jsonl` beside the bundle: stage holds, chaos holds, k6
traffic, each as a scheduled interval of wall time). Overlapping waits are merged, so the sum
is the time the rehearsal cannot avoid at that scale; the ratio of the run's wall time to it is
the suite's overhead (target ≤ 1.25). Prints figures; not a test.

    .venv/bin/python benchmarks/bench_rehearsal.py [--time-scale 600] [--plan A] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_mc.steps.pacing import WAITS_FILE
from pytest_mc.target.local import start_local_staging, stop_local_staging

TARGET_RATIO = 1.25


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=600.0)
    parser.add_argument("--plan", default="A", help="plan sections to rehearse (default: A)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the output here")
    args = parser.parse_args()

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-rehearsal-"))
    work.mkdir(parents=True, exist_ok=True)
    out = work / "out"
    started = time.monotonic()
    staging = start_local_staging(work / "staging", time_scale=args.time_scale)
    startup = time.monotonic() - started
    try:
        env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
        mc_verify = Path(sys.executable).parent / "mc-verify"
        run_started = time.monotonic()
        done = subprocess.run(
            [
                str(mc_verify),
                "run",
                "--target",
                str(staging.profile_path),
                "--out",
                str(out),
                "--plan",
                args.plan,
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

    waits = read_waits(out)
    intervals = [
        (float(w["started_at"]), float(w["started_at"]) + float(w["wall_seconds"])) for w in waits
    ]
    merged = merged_seconds(intervals)
    summed = sum(float(w["wall_seconds"]) for w in waits)
    plan_hours = sum(float(w["plan_seconds"]) for w in waits) / 3600
    print(f"§{args.plan} rehearsal at time scale {args.time_scale:g} (output: {work})")
    print(f"  mc-verify run exit code          {done.returncode}")
    print(f"  staging start-up                 {startup:8.1f} s")
    print(f"  rehearsal wall time              {wall:8.1f} s")
    print(f"  plan-time waits logged           {len(waits):8d}  ({plan_hours:.1f} h of plan time)")
    print(f"  sum of scaled waits (unmerged)   {summed:8.1f} s")
    print(f"  scaled waits, overlaps merged    {merged:8.1f} s")
    if merged > 0:
        ratio = wall / merged
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        target = f"target <= {TARGET_RATIO}: {verdict}"
        print(f"  wall / waits                     {ratio:8.2f}   ({target})")
    else:
        print("  no waits were logged: the rehearsal did not run its scenarios")
    tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
    for line in tail:
        print(f"  | {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
