"""Benchmark of the autonomy pilot's KPI campaign through each channel (prints figures; not
a test).

Starts a reference staging, puts the pilot tenant at T3 (read-only, HITL) and runs the same
campaign of autonomy cycles (change base → simulate → approve → enact → independent
derived-data check; derived drift in a share of them) through the control CLI (a process per
command, as the runbook scenarios drive it) and through the control API (the channel the §B.2
scenario takes when the profile names one). Prints, per channel, cycles per second over the
whole run and over its first and last 100 cycles (their ratio shows whether a cycle gets
slower as the campaign grows), the ratio of the two channels' rates, and the wall time the
cycles the QI catalog needs for conclusive KPIs take at each rate.

    .venv/bin/python benchmarks/bench_autonomy.py [--cycles 500] [--cli-cycles 500] [--drift 2%]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from pytest_mc.drivers.autonomy import AutonomyDriver
from pytest_mc.drivers.autonomy_campaign import (
    AutonomyCampaign,
    CampaignResult,
    cycles_for_conclusive_kpis,
)
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.control_api import ControlApi
from pytest_mc.drivers.derived_data import DerivedDataReader
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.evidence.redaction import Redactor
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.target.loader import load_profile
from pytest_mc.target.local import start_local_staging, stop_local_staging
from pytest_mc.target.profile import TargetProfile

WINDOW = 100


def _campaign(
    profile: TargetProfile, work_dir: Path, cycles: int, share: float, *, over_api: bool
) -> CampaignResult:
    pilot = next(t.id for t in profile.tenants if t.autonomy_pilot)
    redactor = Redactor()
    driver = AutonomyDriver(ControlClient(profile, ToolRunner(redactor)), work_dir)
    answer, _ = driver.set(pilot, "T3", scope="read-only", require_hitl=True)
    if not answer.done:
        raise SystemExit(f"could not set {pilot} to T3: {answer.describe()}")
    with DerivedDataReader(profile) as reader, ControlApi(profile) as api:
        campaign = AutonomyCampaign(profile, driver, reader, on_secret=redactor.register)
        with driver.over_api(api if over_api else None):
            return campaign.run(pilot, cycles, drift_share=share)


def _rate(cycles: list[float]) -> float:
    return len(cycles) / sum(cycles) if cycles and sum(cycles) > 0 else 0.0


def _report(result: CampaignResult, needed: int) -> float:
    per_cycle = [c.wall_seconds for c in result.cycles]
    wrong = [c for c in result.cycles if not c.success or c.false_negative]
    rate = result.cycles_per_second()
    window = min(WINDOW, len(per_cycle) // 2) or len(per_cycle)
    first, last = _rate(per_cycle[:window]), _rate(per_cycle[-window:])
    print(f"[{result.channel}]")
    print(f"  cycles run            {result.trials} ({result.drift_cycles} with derived drift)")
    print(f"  cycles/second         {rate:.2f}")
    print(
        f"  first/last {window} cycles  {first:.2f} / {last:.2f} cycles/s "
        f"(last ÷ first {last / first if first else float('nan'):.2f})"
    )
    print(
        f"  cycle wall seconds    median {statistics.median(per_cycle):.3f}, "
        f"max {max(per_cycle):.3f}"
    )
    print(f"  cycles judged wrong   {len(wrong)}")
    minutes = needed / rate / 60 if rate else float("inf")
    print(f"  {needed} cycles at this rate: {minutes:.1f} min")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=500, help="cycles over the control API")
    parser.add_argument("--cli-cycles", type=int, default=500, help="cycles over the CLI")
    parser.add_argument("--drift", default="2%", help="share of cycles with derived drift")
    args = parser.parse_args()
    share = float(args.drift.rstrip("%")) / (100 if args.drift.endswith("%") else 1)
    catalog = load_catalog()
    needed = cycles_for_conclusive_kpis(catalog)
    with tempfile.TemporaryDirectory(prefix="bench-autonomy-") as tmp:
        local = start_local_staging(Path(tmp) / "staging")
        try:
            profile = load_profile(local.profile_path, catalog)
            print(f"time scale {profile.time_scale:g}; conclusive KPIs need {needed} cycles")
            by_api = _campaign(profile, Path(tmp) / "api", args.cycles, share, over_api=True)
            by_cli = (
                _campaign(profile, Path(tmp) / "cli", args.cli_cycles, share, over_api=False)
                if args.cli_cycles
                else None
            )
        finally:
            stop_local_staging(local)
    api_rate = _report(by_api, needed)
    wrong = not all(c.success and not c.false_negative for c in by_api.cycles)
    if by_cli is not None:
        cli_rate = _report(by_cli, needed)
        wrong = wrong or not all(c.success and not c.false_negative for c in by_cli.cycles)
        print(f"control API ÷ control CLI cycles/s: {api_rate / cli_rate if cli_rate else 0:.1f}x")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
