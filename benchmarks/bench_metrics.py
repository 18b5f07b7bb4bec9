"""Metric pipeline over a simulated 24h bake, and the plugin's per-scenario overhead.

Part 1 feeds synthetic samples for 5 tenants x 3 regions at 1 s resolution through 24h of
simulated time (time_scale 1, so every window is its real length) into the same sample store
and windowed evaluator the suite uses: each simulated scrape records the tenant's worst lag,
its request counters and its 5xx counters (per region) and the raw per-region lag; every
minute each tenant's lag tripwire (10m sustained) and 10m error ratio are evaluated, every five
minutes its 1h and 6h burn. It prints throughput (samples/s with and without evaluation) and
peak memory (the process' max RSS), and memory at 6h,
12h and 24h of simulated time: flat once the rings (sized by the 6h window) are full.

Part 2 runs N trivial pytest-bdd scenarios in a subprocess with the plugin on
(`-p mc --mc-target PROFILE --mc-out DIR`) and off, at two sizes, and prints the cost per
scenario in ms (the slope between the sizes, so start-up is not counted) and the ratio.

    .venv/bin/python benchmarks/bench_metrics.py [--hours 24] [--scenarios 40 240] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_mc.metrics.evaluator import WindowEvaluator, WindowStatus
from pytest_mc.metrics.source import MetricQuery, Sample
from pytest_mc.metrics.store import RecordedSource, SampleStore
from pytest_mc.policy.catalog import load_catalog

TENANTS = [f"TENANT_00{n}" for n in range(1, 6)]
REGIONS = ["eu-west", "eu-central", "us-east"]
T0 = 1_800_000_000.0
SAMPLE_INTERVAL = 1.0
EVALUATE_EVERY = 60
BURN_EVERY = 300

PROFILE = """\
name: bench-staging
environment: staging
allowed_hosts: ["127.0.0.1"]
time_scale: 600
glb_url: "http://127.0.0.1:9"
metrics:
  source: scrape
  sample_interval_seconds: 0.1
  endpoints: [{component: glb, url: "http://127.0.0.1:9/metrics"}]
regions:
  - {id: eu-west, jurisdiction: eu}
  - {id: eu-central, jurisdiction: eu}
tenants:
  - id: TENANT_004
    wave: A
    residency: eu
    regions: [eu-west, eu-central]
    slo_baseline: {availability: 0.999, latency_p95_ms: 250}
"""

STEPS = """\
from pytest_bdd import given, scenarios, then

scenarios("bench.feature")


@given("a trivial precondition")
def _given():
    pass


@then("nothing went wrong")
def _then():
    pass
"""


# --------------------------------------------------------------------------- part 1


def _queries() -> dict[str, dict[str, MetricQuery]]:
    return {
        tenant: {
            "lag": MetricQuery.of("mc_replication_lag_seconds", aggregation="max", tenant=tenant),
            "region_lag": MetricQuery.of("mc_replication_lag_seconds", tenant=tenant),
            "requests": MetricQuery.of("mc_requests_total", aggregation="sum", tenant=tenant),
            "errors": MetricQuery.of(
                "mc_requests_total", aggregation="sum", tenant=tenant, code="503"
            ),
        }
        for tenant in TENANTS
    }


def _lag(tenant_index: int, second: int, region_index: int) -> float:
    # a 20-minute lag episode every 4 hours for one tenant, jitter elsewhere
    base = 0.05 + 0.02 * math.sin(second / 97.0 + region_index)
    if tenant_index == 1 and second % 14_400 < 1_200:
        return 75.0 + region_index
    return base


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_pipeline(hours: float, log: Path) -> None:
    catalog = load_catalog()
    lag_qi = catalog.get("tripwire_replication_lag")
    burn_fast, burn_slow = catalog.get("tripwire_burn_fast"), catalog.get("tripwire_burn_slow")
    store = SampleStore.for_windows(
        longest_window_plan_seconds=max(
            qi.window_seconds or 0.0 for qi in catalog.qis if qi.kind == "tripwire"
        ),
        time_scale=1.0,
        sample_interval_seconds=SAMPLE_INTERVAL,
        path=log,
    )
    evaluator = WindowEvaluator(
        RecordedSource(store), time_scale=1.0, sample_interval_seconds=SAMPLE_INTERVAL
    )
    queries = _queries()
    requests = {(t, r): 0.0 for t in TENANTS for r in REGIONS}
    errors = dict.fromkeys(requests, 0.0)
    seconds = int(hours * 3600)
    samples = 0
    evaluations = 0
    holds = 0
    feed_time = 0.0
    eval_time = 0.0
    checkpoints: list[tuple[float, int]] = []
    rss_before = _rss_bytes()
    texts = {
        tenant: (
            queries[tenant]["lag"].promql(),
            queries[tenant]["region_lag"].promql(),
            queries[tenant]["requests"].selector().promql(),
            queries[tenant]["errors"].selector().promql(),
        )
        for tenant in TENANTS
    }
    for second in range(seconds + 1):
        at = T0 + second
        began = time.perf_counter()
        for tenant_index, tenant in enumerate(TENANTS):
            per_region = [_lag(tenant_index, second, r) for r in range(len(REGIONS))]
            lag_text, region_lag_text, requests_text, errors_text = texts[tenant]
            region_lag = [
                Sample(labels={"tenant": tenant, "region": region}, value=per_region[index])
                for index, region in enumerate(REGIONS)
            ]
            request_samples: list[Sample] = []
            error_samples: list[Sample] = []
            for index, region in enumerate(REGIONS):
                key = (tenant, region)
                requests[key] += 50 + index
                errors[key] += 1 if second % 1_000 == index else 0
                labels = {"tenant": tenant, "region": region}
                request_samples.append(Sample(labels=labels, value=requests[key]))
                error_samples.append(Sample(labels=labels | {"code": "503"}, value=errors[key]))
            store.append(lag_text, at, [Sample(value=max(per_region))])
            store.append(region_lag_text, at, region_lag)
            store.append(requests_text, at, request_samples)
            store.append(errors_text, at, error_samples)
            samples += 1 + 3 * len(REGIONS)
        store.flush()  # once per simulated scrape, as the recorder does
        fed = time.perf_counter()
        feed_time += fed - began
        if second and second % EVALUATE_EVERY == 0:
            for tenant in TENANTS:
                tenant_queries = queries[tenant]
                lag = evaluator.sustained_for_qi(
                    lag_qi, tenant_queries["lag"], values="plain", at=at
                )
                ratio = evaluator.ratio(
                    tenant_queries["errors"],
                    tenant_queries["requests"],
                    window_plan_seconds=600,
                    at=at,
                )
                evaluations += 2
                holds += lag.status is WindowStatus.HOLDS
                if second % BURN_EVERY == 0:
                    for qi in (burn_fast, burn_slow):
                        evaluator.burn_for_qi(
                            qi,
                            tenant_queries["errors"],
                            tenant_queries["requests"],
                            slo_target=0.999,
                            at=at,
                        )
                        evaluations += 1
                del ratio
            eval_time += time.perf_counter() - fed
        if second and second % (3 * 3600) == 0:
            checkpoints.append((second / 3600, _rss_bytes()))
    store.close()
    total = feed_time + eval_time
    regions = f"{len(TENANTS)} tenants x {len(REGIONS)} regions"
    print(f"simulated {hours:g}h at {SAMPLE_INTERVAL:g}s resolution, {regions}:")
    print(f"  series: {store.series_known}, ring capacity {store.capacity_per_series} points each")
    print(f"  samples: {samples:,}; evaluations: {evaluations:,} ({holds} lag windows held)")
    print(f"  feed (store + on-disk log): {samples / feed_time:,.0f} samples/s")
    print(
        f"  pipeline incl. evaluation:  {samples / total:,.0f} samples/s "
        f"({eval_time / max(evaluations, 1) * 1e3:.2f} ms per evaluation)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        f"  peak memory (max RSS): {peak / 2**20:.0f} MiB, of which {rss_before / 2**20:.0f} MiB "
        f"before the first sample; on-disk log {log.stat().st_size / 2**20:.0f} MiB"
    )
    print("  RSS at " + ", ".join(f"{h:g}h {m / 2**20:.0f} MiB" for h, m in checkpoints))


# --------------------------------------------------------------------------- part 2


def _project(root: Path, scenarios: int) -> Path:
    project = root / f"scenarios-{scenarios}"
    project.mkdir()
    lines = ["Feature: Benchmark", ""]
    for number in range(scenarios):
        lines += [
            "  @tenant:TENANT_004",
            f"  Scenario: Trivial scenario {number}",
            "    Given a trivial precondition",
            "    Then nothing went wrong",
            "",
        ]
    (project / "bench.feature").write_text("\n".join(lines))
    (project / "test_bench.py").write_text(STEPS)
    (project / "profile.yaml").write_text(PROFILE)
    return project


def _run(project: Path, plugin: bool) -> float:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "pytest-bdd",
    ]
    if plugin:
        argv += ["-p", "mc", "--mc-target", "profile.yaml", "--mc-out", "out"]
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "true"}
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(
            f"pytest failed in {project} (plugin={plugin}):\n{done.stdout}{done.stderr}"
        )
    return elapsed


def run_overhead(sizes: tuple[int, int], repeat: int) -> None:
    small, large = sizes
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        projects = {size: _project(root, size) for size in sizes}
        timings: dict[tuple[bool, int], list[float]] = {}
        for _ in range(repeat):  # interleaved, so machine drift hits both modes alike
            for plugin in (False, True):
                for size in sizes:
                    timings.setdefault((plugin, size), []).append(_run(projects[size], plugin))
    median = {key: statistics.median(values) for key, values in timings.items()}
    per_off = (median[(False, large)] - median[(False, small)]) / (large - small) * 1e3
    per_on = (median[(True, large)] - median[(True, small)]) / (large - small) * 1e3
    print(f"plugin overhead ({small} vs {large} scenarios, median of {repeat}):")
    print(
        f"  without the plugin: {per_off:.2f} ms per scenario "
        f"(run of {large}: {median[(False, large)]:.2f} s)"
    )
    print(
        f"  with the plugin:    {per_on:.2f} ms per scenario "
        f"(run of {large}: {median[(True, large)]:.2f} s)"
    )
    print(f"  overhead: {per_on - per_off:.2f} ms per scenario; ratio {per_on / per_off:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--scenarios", type=int, nargs=2, default=(40, 240))
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_pipeline(options.hours, Path(tmp) / "samples.log")
    run_overhead(tuple(options.scenarios), options.repeat)


if __name__ == "__main__":
    main()
