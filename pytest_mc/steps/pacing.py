"""The plan-time waits the steps are made of, logged beside the bundle.

A rehearsal is mostly waiting: a stage hold of 8h is 48 s of wall time at time scale 600,
a chaos hold of 1h is 6 s. Each step that waits on plan time logs the interval it schedules
(`plan-waits.jsonl` in the output directory, one JSON object per line), so that the
rehearsal benchmark can tell the waits the plan demands from the suite's own overhead.
Overlapping waits (background k6 traffic under a chaos hold) are logged as they are; a
reader merges the intervals.
"""

from __future__ import annotations

import json
import time

from pytest_mc.fixtures import McEvidence

WAITS_FILE = "plan-waits.jsonl"
# The lag gate (plan §A.2, replication lag <= 1m): the time replication is given to carry a
# change before a copy's absence, or presence, is taken as the target's behaviour.
LAG_GATE_QI = "replication_lag"


def lag_window_wall_seconds(evidence: McEvidence) -> float:
    """One lag-gate window (the catalog's replication-lag threshold), in wall seconds."""
    return evidence.catalog.get(LAG_GATE_QI).target / evidence.time_scale


def log_wait(evidence: McEvidence, what: str, plan_seconds: float) -> float:
    """Log a wait of `plan_seconds` of plan time starting now; returns its wall seconds."""
    wall = plan_seconds / evidence.time_scale
    entry = {
        "what": what,
        "started_at": time.time(),
        "plan_seconds": plan_seconds,
        "wall_seconds": wall,
        "time_scale": evidence.time_scale,
    }
    evidence.out_dir.mkdir(parents=True, exist_ok=True)
    with (evidence.out_dir / WAITS_FILE).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry, sort_keys=True) + "\n")
    return wall
