"""Tripwire automation of plan §A.3 and §B.4, evaluated on the control plane's own samples.

``Sampler`` turns each tick's region stats into per-tenant cumulative counters (robust to a
region restart resetting its counters) and keeps a time series; ``TripwireEvaluator`` decides,
per tenant, which conditions hold and which auto-actions are due. Windows are plan durations
divided by the time scale. Each tripwire fires once per episode: it re-arms when its condition
clears.
"""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field

COUNTERS = (
    "requests",
    "errors",
    "non_persisted",
    "writes",
    "conflicts",
    "residency_violations",
    "cost_units",
)

LAG_THRESHOLD_PLAN_S = 60.0
LAG_WINDOW_PLAN_S = 600.0
RATIO_WINDOW_PLAN_S = 600.0
CONFLICT_THRESHOLD = 0.001
NON_PERSISTED_THRESHOLD = 0.001
ERROR_BUDGET_REMAINING_MIN = 0.60
BURN_FAST = (3600.0, 0.02)
BURN_SLOW = (6 * 3600.0, 0.10)
SLO_PERIOD_PLAN_S = 30 * 24 * 3600.0
# Deliberate defects (mc_staging/defects.py) this module implements.
LOOSE_LAG_FACTOR = 2.0  # tripwire-loose-threshold: the lag must exceed twice its threshold
LATE_BUDGET_PLAN_S = 1800.0  # tripwire-acts-late: the budget figure is this old (plan)
MIN_REQUESTS_BUDGET = 100
MIN_EVENTS_RATIO = 100
# A rate tripwire also needs this many offending events in its window: one stray conflict
# (counted on both sides) among the ~100 writes a 10m window holds at time scale 600 is 2%,
# and must not roll a healthy tenant back; a conflict storm or a burst brings hundreds.
MIN_OFFENDING_EVENTS = 3
# (tripwire id, auto-action) as the plan words them
ACTIONS = {
    "error_budget": "pause_rollout",
    "replication_lag": "bias_glb",
    "conflict_rate": "rollback_to_ap",
    "non_persisted_rate": "rollback_to_ap",
    "residency_violation": "rollback_and_page_dpo",
    "burn_fast": "halt_autonomy",
    "burn_slow": "halt_autonomy",
}


@dataclass
class Sample:
    at: float
    totals: dict[str, float]
    lag_seconds: float
    lag_by_region: dict[str, float]


class Sampler:
    """Per-tenant cumulative counters over all regions, with counter-reset handling.

    A region whose stats did not arrive on a tick (a slow answer under load) keeps its last
    lag reading for up to ``lag_carry_seconds``: a missing reading is unknown, not "caught up",
    and must not reset a sustained-lag window."""

    def __init__(self, retention_seconds: float, lag_carry_seconds: float = 2.0) -> None:
        self.retention = retention_seconds
        self.lag_carry = lag_carry_seconds
        self.last_lag: dict[str, dict[str, tuple[float, float]]] = {}
        self.last_raw: dict[tuple[str, str, str], float] = {}
        self.totals: dict[str, dict[str, float]] = {}
        self.series: dict[str, deque[Sample]] = {}
        self.baselines: dict[str, dict[str, float]] = {}
        # keep ≤ ~4000 samples per tenant whatever the time scale; the last one is always fresh
        self.spacing = retention_seconds / 4000.0

    def ingest(self, at: float, region_stats: list[dict[str, object]]) -> None:
        lag: dict[str, dict[str, float]] = {}
        reported: set[str] = set()
        for stats in region_stats:
            region = str(stats["region"])
            reported.add(region)
            for tenant, counters in dict(stats["tenants"]).items():  # type: ignore[call-overload]
                totals = self.totals.setdefault(str(tenant), dict.fromkeys(COUNTERS, 0.0))
                for name in COUNTERS:
                    raw = float(dict(counters).get(name, 0))
                    slot = (region, str(tenant), name)
                    previous = self.last_raw.get(slot, 0.0)
                    totals[name] += raw - previous if raw >= previous else raw  # reset
                    self.last_raw[slot] = raw
            for tenant, seconds in dict(stats["lag_seconds"]).items():  # type: ignore[call-overload]
                lag.setdefault(str(tenant), {})[region] = float(seconds)
                self.totals.setdefault(str(tenant), dict.fromkeys(COUNTERS, 0.0))
        for tenant, totals in self.totals.items():
            by_region = lag.setdefault(tenant, {})
            last = self.last_lag.setdefault(tenant, {})
            for region, (seen_at, seconds) in list(last.items()):
                if region in reported:
                    continue
                if at - seen_at <= self.lag_carry:
                    by_region[region] = seconds
                else:
                    del last[region]
            for region in reported:
                last[region] = (at, by_region.get(region, 0.0))
            series = self.series.setdefault(tenant, deque())
            sample = Sample(at, dict(totals), max(by_region.values(), default=0.0), by_region)
            if len(series) >= 2 and at - series[-2].at < self.spacing:
                series[-1] = sample
            else:
                series.append(sample)
            while series and series[0].at < at - self.retention:
                series.popleft()

    def latest(self, tenant: str) -> Sample | None:
        series = self.series.get(tenant)
        return series[-1] if series else None

    def delta(self, tenant: str, window: float) -> dict[str, float]:
        """Counter increase over the trailing ``window`` wall seconds (or all data kept)."""
        series = self.series.get(tenant)
        if not series:
            return dict.fromkeys(COUNTERS, 0.0)
        end = series[-1]
        times = [s.at for s in series]
        start = series[max(0, bisect.bisect_left(times, end.at - window))]
        return {k: end.totals[k] - start.totals[k] for k in COUNTERS}

    def period(self, tenant: str) -> dict[str, float]:
        """Counter increase since the tenant's error-budget period began."""
        latest = self.latest(tenant)
        if latest is None:
            return dict.fromkeys(COUNTERS, 0.0)
        base = self.baselines.get(tenant, {})
        return {k: latest.totals[k] - base.get(k, 0.0) for k in COUNTERS}

    def period_as_of(self, tenant: str, at: float) -> dict[str, float] | None:
        """Counter increase from the period's start to the last sample at or before ``at``
        (None when no sample of the period is that old)."""
        series = self.series.get(tenant)
        if not series:
            return None
        times = [s.at for s in series]
        index = bisect.bisect_right(times, at) - 1
        if index < 0:
            return None
        base = self.baselines.get(tenant, {})
        period = {k: series[index].totals[k] - base.get(k, 0.0) for k in COUNTERS}
        return period if period["requests"] >= 0 else None

    def reset_period(self, tenant: str) -> None:
        latest = self.latest(tenant)
        self.baselines[tenant] = dict(latest.totals) if latest else {}


@dataclass
class TripwireState:
    condition_since: float | None = None
    fired: bool = False


@dataclass
class Reading:
    """What the evaluator measured for one tenant on one tick (also exported as metrics)."""

    error_budget_remaining: float | None = None
    burn_fast: float | None = None
    burn_slow: float | None = None
    lag_plan_seconds: float = 0.0
    conflict_ratio: float | None = None
    non_persisted_ratio: float | None = None
    residency_violations: float = 0.0
    cost_units_plan_day: float = 0.0
    conditions: dict[str, bool] = field(default_factory=dict)
    values: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Firing:
    tenant: str
    tripwire: str
    action: str
    condition_since: float
    fired_at: float
    value: float | None
    threshold: float
    window_wall_seconds: float


class TripwireEvaluator:
    def __init__(self, time_scale: float, defects: frozenset[str] = frozenset()) -> None:
        self.time_scale = time_scale
        self.defects = defects
        self.lag_threshold = LAG_THRESHOLD_PLAN_S * (
            LOOSE_LAG_FACTOR if "tripwire-loose-threshold" in defects else 1.0
        )
        self.states: dict[tuple[str, str], TripwireState] = {}
        self.violations_seen: dict[str, float] = {}
        self.last_violation_at: dict[str, float] = {}

    def wall(self, plan_seconds: float) -> float:
        return plan_seconds / self.time_scale

    def evaluate(
        self, tenant: str, sampler: Sampler, now: float, availability: float
    ) -> tuple[Reading, list[Firing]]:
        reading = Reading()
        latest = sampler.latest(tenant)
        if latest is None:
            return reading, []
        allowed = max(1e-9, 1.0 - availability)
        period: dict[str, float] | None = sampler.period(tenant)
        if "tripwire-acts-late" in self.defects:
            period = sampler.period_as_of(tenant, now - self.wall(LATE_BUDGET_PLAN_S))
        if period is not None and period["requests"] >= MIN_REQUESTS_BUDGET:
            consumed = (period["errors"] / period["requests"]) / allowed
            reading.error_budget_remaining = 1.0 - consumed
        for name, (burn_window, _limit) in (("burn_fast", BURN_FAST), ("burn_slow", BURN_SLOW)):
            counts = sampler.delta(tenant, self.wall(burn_window))
            if counts["requests"] >= MIN_REQUESTS_BUDGET:
                burn = (counts["errors"] / counts["requests"]) / allowed
                setattr(reading, name, burn * burn_window / SLO_PERIOD_PLAN_S)
        reading.lag_plan_seconds = latest.lag_seconds * self.time_scale
        window = sampler.delta(tenant, self.wall(RATIO_WINDOW_PLAN_S))
        if window["writes"] >= MIN_EVENTS_RATIO:
            reading.conflict_ratio = window["conflicts"] / window["writes"]
        if window["requests"] >= MIN_EVENTS_RATIO:
            reading.non_persisted_ratio = window["non_persisted"] / window["requests"]
        reading.residency_violations = latest.totals["residency_violations"]
        reading.cost_units_plan_day = sampler.delta(tenant, self.wall(86400.0))["cost_units"]
        seen = self.violations_seen.get(tenant, 0.0)
        self.violations_seen[tenant] = reading.residency_violations
        if reading.residency_violations > seen:
            self.last_violation_at[tenant] = now
        # one residency episode lasts while violations keep arriving within a 10m window
        last_violation = self.last_violation_at.get(tenant)
        residency_open = last_violation is not None and now - last_violation <= self.wall(
            RATIO_WINDOW_PLAN_S
        )
        conditions: dict[str, tuple[bool, float | None, float, float]] = {
            "error_budget": (
                reading.error_budget_remaining is not None
                and reading.error_budget_remaining < ERROR_BUDGET_REMAINING_MIN,
                reading.error_budget_remaining,
                ERROR_BUDGET_REMAINING_MIN,
                0.0,
            ),
            "replication_lag": (
                reading.lag_plan_seconds > self.lag_threshold,
                reading.lag_plan_seconds,
                LAG_THRESHOLD_PLAN_S,
                self.wall(LAG_WINDOW_PLAN_S),
            ),
            "conflict_rate": (
                reading.conflict_ratio is not None
                and reading.conflict_ratio > CONFLICT_THRESHOLD
                and window["conflicts"] >= MIN_OFFENDING_EVENTS,
                reading.conflict_ratio,
                CONFLICT_THRESHOLD,
                0.0,
            ),
            "non_persisted_rate": (
                reading.non_persisted_ratio is not None
                and reading.non_persisted_ratio > NON_PERSISTED_THRESHOLD
                and window["non_persisted"] >= MIN_OFFENDING_EVENTS,
                reading.non_persisted_ratio,
                NON_PERSISTED_THRESHOLD,
                0.0,
            ),
            "residency_violation": (residency_open, reading.residency_violations, 0.0, 0.0),
            "burn_fast": (
                reading.burn_fast is not None and reading.burn_fast >= BURN_FAST[1],
                reading.burn_fast,
                BURN_FAST[1],
                0.0,
            ),
            "burn_slow": (
                reading.burn_slow is not None and reading.burn_slow >= BURN_SLOW[1],
                reading.burn_slow,
                BURN_SLOW[1],
                0.0,
            ),
        }
        firings: list[Firing] = []
        for name, (holds, value, threshold, sustain) in conditions.items():
            reading.conditions[name] = holds
            reading.values[name] = value
            state = self.states.setdefault((tenant, name), TripwireState())
            if not holds:
                state.condition_since = None
                state.fired = False
                continue
            if state.condition_since is None:
                state.condition_since = now
            if not state.fired and now - state.condition_since >= sustain:
                state.fired = True
                firings.append(
                    Firing(
                        tenant,
                        name,
                        ACTIONS[name],
                        state.condition_since,
                        now,
                        value,
                        threshold,
                        sustain,
                    )
                )
        return reading, firings

    def rearm(self, tenant: str, tripwire: str) -> None:
        """Let a fired tripwire fire again while its condition still holds (action deferred)."""
        state = self.states.get((tenant, tripwire))
        if state is not None:
            state.fired = False

    def snapshot(self) -> dict[str, dict[str, dict[str, object]]]:
        out: dict[str, dict[str, dict[str, object]]] = {}
        for (tenant, name), state in self.states.items():
            out.setdefault(tenant, {})[name] = {
                "condition_since": state.condition_since,
                "fired": state.fired,
            }
        return out
