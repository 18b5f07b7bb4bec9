"""Watching a target's tripwires: when a condition began, and when the auto-action happened.

A `TripwireWatch` polls the metric source in a background thread at the profile's sample
interval. For every tripwire of the catalog it evaluates the condition itself, from the
contract's metrics and the catalog's threshold (docs/target-contract.md §4), and it watches
the state an auto-action must change (rollout paused, GLB biased, tenant back to A/P, DPO
paged, autonomy halted). It only observes; judging is the caller's job. Memory is bounded:
each watched value keeps a fixed-size ring of recent points for charts.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from pytest_mc.metrics.source import InstantVector, MetricQuery, MetricSource
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

    def action_observed_at(self, action: str) -> datetime | None:
        """When every effect of catalog action `action` had been observed (the last of them)."""
        effects = ACTION_EFFECTS.get(action, ())
        seen = [self.effects_first_seen_at.get(effect) for effect in effects]
        if not effects or any(at is None for at in seen):
            return None
        return max(at for at in seen if at is not None)


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
    ) -> None:
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
        for name, vector in zip(self._effects, vectors[len(self._tracks) :], strict=True):
            self._effect_baseline[name] = vector.single()
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
            tripwires={
                track.qi.id: TripwireSighting(
                    qi_id=track.qi.id,
                    condition_first_seen_at=track.first,
                    condition_last_seen_at=track.last,
                    peak_value=track.peak,
                    points=tuple(track.points),
                )
                for track in self._tracks
            },
            effects_first_seen_at=dict(self._effect_seen),
        )

    def _sample(self) -> tuple[InstantVector, ...]:
        queries = [track.query for track in self._tracks]
        queries += [query for query, _ in self._effects.values()]
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
            if raw is None:
                continue
            value = self._convert(track, raw)
            track.points.append(WatchPoint(at=now, value=value))
            track.peak = value if track.peak is None else max(track.peak, value)
            if compare(track.qi.comparator, value, track.qi.target):
                track.first = track.first or now
                track.last = now
        for (name, (_query, change)), vector in zip(
            self._effects.items(), vectors[len(self._tracks) :], strict=True
        ):
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
