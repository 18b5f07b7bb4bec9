"""Benchmark of the autonomy pilot's KPI campaign (prints figures; not a test).

Starts a reference staging, puts the pilot tenant at T3 (read-only, HITL) and runs a short
campaign of autonomy cycles (change base → simulate → approve → enact → independent
derived-data check; derived drift in a share of them) through the control CLI exactly as the
§B.2 scenario does. Prints cycles per second, the cycles the QI catalog needs for conclusive
KPIs (every rate KPI able to pass at its confidence with zero failures), and the wall time a
rehearsal of that campaign therefore takes.

    .venv/bin/python benchmarks/bench_autonomy.py [--cycles 30] [--drift 2%]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from pytest_mc.drivers.autonomy import AutonomyDriver
from pytest_mc.drivers.autonomy_campaign import AutonomyCampaign, cycles_for_conclusive_kpis
from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.derived_data import DerivedDataReader
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.evidence.redaction import Redactor
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.target.loader import load_profile
from pytest_mc.target.local import start_local_staging, stop_local_staging


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=30)
    parser.add_argument("--drift", default="2%", help="share of cycles with derived drift")
    args = parser.parse_args()
    share = float(args.drift.rstrip("%")) / (100 if args.drift.endswith("%") else 1)
    catalog = load_catalog()
    needed = cycles_for_conclusive_kpis(catalog)
    with tempfile.TemporaryDirectory(prefix="bench-autonomy-") as tmp:
        local = start_local_staging(Path(tmp) / "staging")
        try:
            profile = load_profile(local.profile_path, catalog)
            pilot = next(t.id for t in profile.tenants if t.autonomy_pilot)
            redactor = Redactor()
            driver = AutonomyDriver(ControlClient(profile, ToolRunner(redactor)), Path(tmp) / "r")
            answer, _ = driver.set(pilot, "T3", scope="read-only", require_hitl=True)
            if not answer.done:
                print(f"could not set {pilot} to T3: {answer.describe()}", file=sys.stderr)
                return 1
            with DerivedDataReader(profile) as reader:
                campaign = AutonomyCampaign(profile, driver, reader, on_secret=redactor.register)
                result = campaign.run(pilot, args.cycles, drift_share=share)
        finally:
            stop_local_staging(local)
    rate = result.cycles_per_second()
    per_cycle = [c.wall_seconds for c in result.cycles]
    wrong = [c for c in result.cycles if not c.success or c.false_negative]
    print(f"time scale            {profile.time_scale:g}")
    print(f"cycles run            {result.trials} ({result.drift_cycles} with derived drift)")
    print(f"cycles/second         {rate:.2f}")
    print(
        f"cycle wall seconds    median {statistics.median(per_cycle):.2f}, max {max(per_cycle):.2f}"
    )
    print(f"cycles judged wrong   {len(wrong)}")
    print(f"cycles for conclusive KPIs (catalog, 0 failures): {needed}")
    minutes = needed / rate / 60 if rate else float("inf")
    print(f"campaign wall time at this rate: {minutes:.0f} min")
    return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
