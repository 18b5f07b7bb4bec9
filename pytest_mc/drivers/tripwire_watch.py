"""Watching a target's tripwires: when a condition began, and when the auto-action happened.

A `TripwireWatch` polls the metric source in a background thread at the profile's sample
interval. For every tripwire of the catalog it evaluates the condition itself, from the
contract's metrics and the catalog's threshold (docs/target-contract.md §4), and it watches
the state an auto-action must change (rollout paused, GLB biased, tenant back to A/P, DPO
paged, autonomy halted). Where the contract's counters allow, it also computes a tripwire's
figure itself rather than reading the target's gauge: the error budget remaining from the
request counters (`suite_tripwires`). It only observes; judging is the caller's job. Memory is
bounded: each watched value keeps a fixed-size ring of recent points for charts.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from pytest_mc.metrics.source import InstantVector, LabelMatcher, MetricQuery, MetricSource
from pytest_mc.policy.catalog import QiCatalog, QiDefinition
from pytest_mc.policy.verdict import compare

_STRICT = ConfigDict(extra="forbid", frozen=True)
_RING_POINTS = 4096

# Suite-side condition of each tripwire: (metric, extra labels, scale to the QI's unit).
# Durations are exposed in wall seconds and multiplied by the time scale ("wall→plan").
_CONDITIONS: dict[str, tuple[str, dict[str, str], str]] = {
    "tripwire_error_budget": ("mc_error_budget_remaining_ratio", {}, "as-is"),
    "tripwire_replication_lag": ("mc_tenant_replication_lag_seconds", {}, "wall→plan"),
    "tripwire_conflict_rate": ("mc_conflict_ratio", {}, "as-is"),
    "tripwire_non_persisted": ("mc_non_persisted_ratio", {}, "as-is"),
    "tripwire_residency": ("mc_tenant_residency_violations", {}, "increase"),
    "tripwire_burn_fast": ("mc_error_budget_consumed_in_window_ratio", {"window": "1h"}, "as-is"),
    "tripwire_burn_slow": ("mc_error_budget_consumed_in_window_ratio", {"window": "6h"}, "as-is"),
}

# The state each auto-action changes, as (metric, test against the value before the watch).
Change = Callable[[float | None, float | None], bool]
_ACTIONS: dict[str, tuple[str, Change]] = {
    "rollout_paused": ("mc_rollout_paused", lambda before, now: now == 1),
    "glb_biased": (
        "mc_glb_region_weight",
        lambda before, now: now is not None and now >= 100 and (before or 0) < 100,
    ),
    "tenant_active_passive": (
        "mc_tenant_active_active",
        lambda before, now: now == 0 and before == 1,
    ),
    "dpo_paged": (
        "mc_dpo_pages_total",
        lambda before, now: now is not None and now > (before or 0),
    ),
    "autonomy_halted": ("mc_autonomy_halted", lambda before, now: now == 1),
}

# Which observed state changes make up each catalog action.
ACTION_EFFECTS: dict[str, tuple[str, ...]] = {
    "pause_rollout": ("rollout_paused",),
    "bias_glb": ("glb_biased",),
    "rollback_to_ap": ("tenant_active_passive",),
    "rollback_and_page_dpo": ("tenant_active_passive", "dpo_paged"),
    "halt_autonomy_read_only": ("autonomy_halted",),
}


def action_completed_at(action: str, effects_seen_at: Mapping[str, datetime]) -> datetime | None:
    """When every effect of catalog action `action` had been seen (the last of them), or None
    while one is missing; an action without known effects is never complete."""
    effects = ACTION_EFFECTS.get(action, ())
    seen = [effects_seen_at.get(effect) for effect in effects]
    if not effects or any(at is None for at in seen):
        return None
    return max(at for at in seen if at is not None)


# The data plane's request counter (docs/target-contract.md §4); an error is a 5xx answer,
# which is what the error budget is spent on.
_REQUESTS_METRIC = "mc_requests_total"
_ERROR_CODES = "5.."


def request_counter_queries(tenant: str) -> tuple[MetricQuery, MetricQuery]:
    """(all requests, error answers) of `tenant`, summed over regions, routes and codes."""
    tenant_matcher = LabelMatcher(label="tenant", value=tenant)
    requests = MetricQuery(metric=_REQUESTS_METRIC, matchers=(tenant_matcher,), aggregation="sum")
    errors = MetricQuery(
        metric=_REQUESTS_METRIC,
        matchers=(tenant_matcher, LabelMatcher(label="code", op="=~", value=_ERROR_CODES)),
        aggregation="sum",
    )
    return requests, errors


class BudgetPeriod(BaseModel):
    """Where the suite's count of a tenant's error-budget period starts: the request and error
    counters read when the target's period was restarted, and the tenant's availability SLO."""

    model_config = _STRICT
    tenant: str
    started_at: datetime
    requests: float
    errors: float
    availability: float

    def remaining(self, requests: float, errors: float) -> float | None:
        """The budget left at counter readings (`requests`, `errors`): 1 untouched, < 0
        overspent; None before the period has a request or after a counter went back."""
        served, failed = requests - self.requests, errors - self.errors
        if served <= 0 or failed < 0:
            return None
        return 1.0 - (failed / served) / (1.0 - self.availability)


def read_budget_period(source: MetricSource, tenant: str, *, availability: float) -> BudgetPeriod:
    """The tenant's request counters now, as the start of a budget period."""
    vectors = source.sample_many(request_counter_queries(tenant))
    requests, errors = (vector.single() for vector in vectors)
    if requests is None:
        raise ValueError(
            f"the target exports no {_REQUESTS_METRIC} for tenant {tenant!r}; the suite cannot "
            f"count its error budget"
        )
    return BudgetPeriod(
        tenant=tenant,
        started_at=datetime.now(UTC),
        requests=requests,
        errors=errors or 0.0,
        availability=availability,
    )


class InducedFault(BaseModel):
    """A fault sized from a tripwire's catalog threshold: `factor` times it, held for
    `hold_wall_seconds`, passed to the experiment as configuration `config_key`=`magnitude`."""

    model_config = _STRICT
    qi_id: str
    factor: float
    threshold: float
    config_key: str
    magnitude: float
    magnitude_unit: str
    hold_wall_seconds: float


class WatchPoint(BaseModel):
    """One sampled value of a watched condition (in the QI's unit)."""

    model_config = _STRICT
    at: datetime
    value: float


class TripwireSighting(BaseModel):
    """What the watch saw of one tripwire: the condition, and each effect of its action."""

    model_config = _STRICT
    qi_id: str
    condition_first_seen_at: datetime | None
    condition_last_seen_at: datetime | None
    peak_value: float | None
    points: tuple[WatchPoint, ...]

    def resolution_seconds(self) -> float:
        """The widest gap between two samples (wall seconds): how precisely the watch could
        place the condition's start. A loaded machine samples less often than configured."""
        gaps = [
            (later.at - earlier.at).total_seconds()
            for earlier, later in zip(self.points, self.points[1:], strict=False)
        ]
        return max(gaps, default=0.0)

    def typical_value(self, until: datetime | None = None) -> float | None:
        """The median sampled value (up to `until`): what the condition mostly stood at."""
        values = sorted(p.value for p in self.points if until is None or p.at <= until)
        return values[len(values) // 2] if values else None

    def held_seconds(self) -> float | None:
        """Wall seconds from the first to the last sample that met the condition."""
        if self.condition_first_seen_at is None or self.condition_last_seen_at is None:
            return None
        return (self.condition_last_seen_at - self.condition_first_seen_at).total_seconds()


class WatchReport(BaseModel):
    """Everything a watch observed for one tenant between `started_at` and `stopped_at`."""

    model_config = _STRICT
    tenant: str
    started_at: datetime
    stopped_at: datetime
    samples: int
    tripwires: dict[str, TripwireSighting]
    effects_first_seen_at: dict[str, datetime]
    # each action effect's value the watch compared against (sampled at its start, or carried)
    effect_baselines: dict[str, float | None] = {}
    # figures the suite computed itself from counters, by tripwire (see `BudgetPeriod`)
    suite_tripwires: dict[str, TripwireSighting] = {}
    budget_period: BudgetPeriod | None = None
    induced: InducedFault | None = None

    def fault_held_until(self) -> datetime | None:
        """When the sized fault's hold ended (wall clock), if the watch knows of one."""
        if self.induced is None:
            return None
        return self.started_at + timedelta(seconds=self.induced.hold_wall_seconds)

    def action_observed_at(self, action: str) -> datetime | None:
        """When every effect of catalog action `action` had been observed (the last of them)."""
        return action_completed_at(action, self.effects_first_seen_at)


@dataclass
class _Track:
    qi: QiDefinition
    query: MetricQuery
    conversion: str
    baseline: float | None = None
    first: datetime | None = None
    last: datetime | None = None
    peak: float | None = None
    points: deque[WatchPoint] = field(default_factory=lambda: deque(maxlen=_RING_POINTS))


class TripwireWatch:
    """Polls one tenant's tripwire conditions and action effects until stopped."""

    def __init__(
        self,
        source: MetricSource,
        catalog: QiCatalog,
        tenant: str,
        *,
        time_scale: float,
        interval_seconds: float,
        availability: float | None = None,
        budget_period: BudgetPeriod | None = None,
        induced: InducedFault | None = None,
        effect_baselines: Mapping[str, float | None] | None = None,
    ) -> None:
        """`availability` (the tenant's SLO) lets the watch count the error budget itself from
        `budget_period` (or, without one, from its own start). `effect_baselines` carries an
        earlier watch's baselines for the named effects, so an action that came between the
        two watches is still seen (at this watch's first sample)."""
        self.source = source
        self.tenant = tenant
        self.time_scale = time_scale
        self.interval_seconds = interval_seconds
        self._tracks = [
            _Track(
                qi=catalog.get(qi_id),
                query=MetricQuery.of(metric, aggregation="max", tenant=tenant, **labels),
                conversion=conversion,
            )
            for qi_id, (metric, labels, conversion) in _CONDITIONS.items()
        ]
        self._effects = {
            name: (MetricQuery.of(metric, aggregation="max", tenant=tenant), change)
            for name, (metric, change) in _ACTIONS.items()
        }
        self.availability = availability
        self.budget_period = budget_period
        self.induced = induced
        self._budget = (
            _Track(
                qi=catalog.get("tripwire_error_budget"),
                query=MetricQuery.of(_REQUESTS_METRIC),
                conversion="counted",
            )
            if availability is not None
            else None
        )
        self._carried_baselines = dict(effect_baselines or {})
        self._effect_baseline: dict[str, float | None] = {}
        self._effect_seen: dict[str, datetime] = {}
        self._samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at = datetime.now(UTC)
        self._error: BaseException | None = None

    def start(self) -> TripwireWatch:
        """Take the baseline now, then poll in the background."""
        self._started_at = datetime.now(UTC)
        vectors = self._sample()
        for track, vector in zip(self._tracks, vectors, strict=False):
            track.baseline = vector.single()
        effects = vectors[len(self._tracks) : len(self._tracks) + len(self._effects)]
        for name, vector in zip(self._effects, effects, strict=True):
            self._effect_baseline[name] = self._carried_baselines.get(name, vector.single())
        if self.availability is not None and self.budget_period is None:
            requests, errors = (v.single() for v in vectors[-2:])
            self.budget_period = BudgetPeriod(
                tenant=self.tenant,
                started_at=self._started_at,
                requests=requests or 0.0,
                errors=errors or 0.0,
                availability=self.availability,
            )
        self._thread = threading.Thread(target=self._loop, name="tripwire-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> WatchReport:
        """Stop polling and report; re-raises a failure of the polling thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 10 * self.interval_seconds))
        if self._error is not None:
            raise self._error
        return WatchReport(
            tenant=self.tenant,
            started_at=self._started_at,
            stopped_at=datetime.now(UTC),
            samples=self._samples,
            tripwires={track.qi.id: _sighting(track) for track in self._tracks},
            effects_first_seen_at=dict(self._effect_seen),
            effect_baselines=dict(self._effect_baseline),
            suite_tripwires={}
            if self._budget is None
            else {self._budget.qi.id: _sighting(self._budget)},
            budget_period=self.budget_period,
            induced=self.induced,
        )

    def action_seen(self, action: str) -> bool:
        """Whether every effect of catalog action `action` has been observed so far."""
        return action_completed_at(action, self._effect_seen) is not None

    def _sample(self) -> tuple[InstantVector, ...]:
        queries = [track.query for track in self._tracks]
        queries += [query for query, _ in self._effects.values()]
        if self._budget is not None:
            queries += request_counter_queries(self.tenant)
        return self.source.sample_many(queries)

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval_seconds):
                self._observe(self._sample())
        except BaseException as exc:  # reported by stop(), never lost in the thread
            self._error = exc

    def _observe(self, vectors: tuple[InstantVector, ...]) -> None:
        self._samples += 1
        now = datetime.now(UTC)
        for track, vector in zip(self._tracks, vectors, strict=False):
            raw = vector.single()
            if raw is not None:
                _record(track, now, self._convert(track, raw))
        if self._budget is not None and self.budget_period is not None:
            requests, errors = (v.single() for v in vectors[-2:])
            remaining = (
                None if requests is None else self.budget_period.remaining(requests, errors or 0.0)
            )
            if remaining is not None:
                _record(self._budget, now, remaining)
        effects = vectors[len(self._tracks) : len(self._tracks) + len(self._effects)]
        for (name, (_query, change)), vector in zip(self._effects.items(), effects, strict=True):
            if name not in self._effect_seen and change(
                self._effect_baseline.get(name), vector.single()
            ):
                self._effect_seen[name] = now

    def _convert(self, track: _Track, raw: float) -> float:
        if track.conversion == "wall→plan":
            return raw * self.time_scale
        if track.conversion == "increase":
            return raw - (track.baseline or 0.0)
        return raw


def _record(track: _Track, now: datetime, value: float) -> None:
    """One sample of a condition: kept for charts, its peak, and when it held."""
    track.points.append(WatchPoint(at=now, value=value))
    # the peak is the extreme in the direction of the breach (the lowest budget left)
    if track.peak is None:
        track.peak = value
    else:
        track.peak = (
            min(track.peak, value) if track.qi.comparator in ("<", "<=") else max(track.peak, value)
        )
    if compare(track.qi.comparator, value, track.qi.target):
        track.first = track.first or now
        track.last = now


def _sighting(track: _Track) -> TripwireSighting:
    return TripwireSighting(
        qi_id=track.qi.id,
        condition_first_seen_at=track.first,
        condition_last_seen_at=track.last,
        peak_value=track.peak,
        points=tuple(track.points),
    )
