"""The windowed evaluator: plan-time windows judged on series from any metric source.

Windows are written in PLAN seconds (the catalog's 10m, 1h, 6h) and read from the source in
WALL seconds (plan / time_scale). Metric values that are durations are wall seconds (target
contract §0) and are multiplied by time_scale before they meet a plan threshold. Every
result says how many samples it rests on and the window bounds; fewer than ``min_samples``
(5) in the window, or samples that do not span it, is `not_enough_data`, never a pass.

Semantics, identical for both sources because both only hand over points:

* sustained: the condition held at every sample from the start of the current run of
  holding samples to the newest one, and that run lasted at least the window.
* rate / ratio / burn: counter increases per series (a drop is a counter reset: the new
  value is the increase since the restart), summed over the series the selector matches.
* burn: share of the period's error budget consumed in the window:
  ``(errors / requests) / (1 - slo_target) * window / period`` (the staging's definition).
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.errors import InputError
from pytest_mc.metrics.source import MetricQuery, MetricSource, Series, SourceName
from pytest_mc.policy.catalog import Comparator, QiDefinition
from pytest_mc.policy.timewindow import format_duration

MIN_SAMPLES = 5
SLO_PERIOD_PLAN_SECONDS = 30 * 86_400.0
# Float noise on timestamps (0.1 + 0.2 != 0.3) must not turn "exactly 10m" into "not yet".
_EPSILON_SECONDS = 1e-6

ValueKind = Literal["plain", "wall_seconds"]
Statistic = Literal["min", "max", "p50", "p95", "p99"]
WindowKind = Literal["sustained", "rate", "ratio", "burn", "statistic"]

_COMPARE: dict[Comparator, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}
_QUANTILES: dict[Statistic, float] = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


class WindowStatus(StrEnum):
    """What a window says: a condition holds or is clear, a bare measurement, or too little data."""

    HOLDS = "holds"
    CLEAR = "clear"
    MEASURED = "measured"
    NOT_ENOUGH_DATA = "not_enough_data"


class WindowBounds(BaseModel):
    """A window in both clocks: wall epoch bounds and its plan-time length."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: float = Field(description="Unix epoch wall seconds")
    end: float = Field(description="Unix epoch wall seconds")
    wall_seconds: float
    plan_seconds: float
    plan_text: str
    time_scale: float


class WindowResult(BaseModel):
    """One window evaluation with the numbers a verdict and an auditor need."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: WindowKind
    source: SourceName
    query: str
    denominator_query: str | None = None
    window: WindowBounds
    samples: int = Field(ge=0, description="points inside the window")
    series: int = Field(ge=0)
    value: float | None = Field(description="plan units: plan seconds, fraction, per second")
    unit: str
    comparator: Comparator | None = None
    threshold: float | None = None
    status: WindowStatus
    held_plan_seconds: float | None = None
    increase: float | None = None
    denominator_increase: float | None = None
    counter_resets: int = 0
    burn_rate: float | None = None
    reason: str

    @property
    def holds(self) -> bool | None:
        """True/False for a judged condition; None when there was not enough data."""
        if self.status is WindowStatus.NOT_ENOUGH_DATA:
            return None
        return self.status is WindowStatus.HOLDS


def require_measurable(
    window_plan_seconds: float,
    *,
    time_scale: float,
    sample_interval_seconds: float,
    what: str,
    min_samples: int = MIN_SAMPLES,
) -> None:
    """Refuse a time scale at which ``what``'s window holds fewer than ``min_samples`` samples."""
    wall = window_plan_seconds / time_scale
    fits = wall / sample_interval_seconds
    if fits + 1e-9 < min_samples:
        best_scale = window_plan_seconds / (min_samples * sample_interval_seconds)
        raise InputError(
            f"window {format_duration(window_plan_seconds)} of {what} is {wall:g}s wall at "
            f"time_scale {time_scale:g}: only {fits:.1f} samples at "
            f"{sample_interval_seconds:g}s, need {min_samples}; use time_scale <= "
            f"{best_scale:g} or metrics.sample_interval_seconds <= {wall / min_samples:g}"
        )


def _increase(points: tuple[tuple[float, float], ...]) -> tuple[float, int]:
    """Counter increase over the points, treating every drop as a reset to zero.

    Sum of the steps, where a step down (a restart) counts its new value: that is the last
    value minus the first, plus the value before each drop. Done with C-level map/compress
    because a 6h window at 1 s resolution is 21,600 points per series.
    """
    if len(points) < 2:
        return 0.0, 0
    values = [value for _, value in points]
    drops = list(map(operator.gt, values, itertools.islice(values, 1, None)))
    before_drops = list(itertools.compress(values, drops))
    return values[-1] - values[0] + math.fsum(before_drops), len(before_drops)


def _time(point: tuple[float, float]) -> float:
    return point[0]


def _nearest_rank(values: list[float], quantile: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(quantile * len(ordered)))
    return ordered[rank - 1]


class WindowEvaluator:
    """Evaluates plan-time windows on one `MetricSource` at the profile's time scale."""

    def __init__(
        self,
        source: MetricSource,
        *,
        time_scale: float,
        sample_interval_seconds: float,
        min_samples: int = MIN_SAMPLES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if time_scale <= 0 or sample_interval_seconds <= 0 or min_samples < 1:
            raise InputError(
                f"evaluator needs time_scale > 0, sample interval > 0 and min_samples >= 1, "
                f"not {time_scale!r}, {sample_interval_seconds!r}, {min_samples!r}"
            )
        self.source = source
        self.time_scale = time_scale
        self.sample_interval_seconds = sample_interval_seconds
        self.min_samples = min_samples
        self._clock = clock

    # ------------------------------------------------------------------ windows and series

    def window(self, plan_seconds: float, at: float | None = None) -> WindowBounds:
        """The wall bounds of the plan window ending at ``at`` (default: now)."""
        if plan_seconds <= 0:
            raise InputError(f"a window must be longer than 0s, not {plan_seconds!r}")
        end = self._clock() if at is None else at
        wall = plan_seconds / self.time_scale
        return WindowBounds(
            start=end - wall,
            end=end,
            wall_seconds=wall,
            plan_seconds=plan_seconds,
            plan_text=format_duration(plan_seconds),
            time_scale=self.time_scale,
        )

    def _lookback(self, window: WindowBounds) -> float:
        # Points before the window show the condition "held since before the window started";
        # real sample gaps run longer than the nominal interval, so look back generously.
        return max(5 * self.sample_interval_seconds, 0.1 * window.wall_seconds)

    def _fetch(self, query: MetricQuery, window: WindowBounds) -> tuple[Series, ...]:
        found = self.source.series(
            query, window.start - self._lookback(window), window.end, self.sample_interval_seconds
        )
        return tuple(series for series in found.series if series.points)

    def _one_series(self, query: MetricQuery, window: WindowBounds) -> Series | None:
        found = self._fetch(query, window)
        if len(found) > 1:
            names = "; ".join(
                ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) for s in found[:3]
            )
            raise InputError(
                f"query {query.promql()} yields {len(found)} series ({names}, ...); aggregate "
                f"it (max/min/sum) or add label matchers so it yields one"
            )
        return found[0] if found else None

    def _convert(self, value: float, values: ValueKind) -> float:
        return value * self.time_scale if values == "wall_seconds" else value

    def _spans(self, points: tuple[tuple[float, float], ...], window: WindowBounds) -> bool:
        """The points reach both ends of the window (within two sample gaps)."""
        if len(points) < 2:
            return False
        mean_gap = (points[-1][0] - points[0][0]) / (len(points) - 1)
        tolerance = 2 * max(mean_gap, self.sample_interval_seconds)
        tolerance += _EPSILON_SECONDS
        return points[0][0] <= window.start + tolerance and points[-1][0] >= window.end - tolerance

    def _in_window(
        self, points: tuple[tuple[float, float], ...], window: WindowBounds
    ) -> tuple[tuple[float, float], ...]:
        first = bisect.bisect_left(points, window.start - _EPSILON_SECONDS, key=_time)
        stop = bisect.bisect_right(points, window.end, key=_time)
        return points[first:stop]

    def _thin(self, window: WindowBounds, samples: int, why: str = "") -> str:
        detail = why or f"{samples} samples, need at least {self.min_samples}"
        return (
            f"not enough data in the {window.plan_text} window "
            f"({window.wall_seconds:g}s wall): {detail}"
        )

    # ------------------------------------------------------------------ sustained

    def sustained(
        self,
        query: MetricQuery,
        *,
        comparator: Comparator,
        threshold: float,
        window_plan_seconds: float,
        values: ValueKind = "plain",
        unit: str = "",
        at: float | None = None,
    ) -> WindowResult:
        """Has ``value <comparator> threshold`` held for at least the window, up to now?

        The value reported is the least extreme sample in the window (the minimum for ``>``),
        the number that shows how firmly the condition held.
        """
        window = self.window(window_plan_seconds, at)
        series = self._one_series(query, window)
        unit = unit or ("seconds" if values == "wall_seconds" else "")
        points = series.points if series is not None else ()
        inside = self._in_window(points, window)
        condition = f"{comparator} {threshold:g}{(' ' + unit) if unit else ''}"
        value: float | None = None
        held_plan: float | None = None
        if len(inside) < self.min_samples:
            status = WindowStatus.NOT_ENOUGH_DATA
            reason = self._thin(window, len(inside))
        else:
            compare = _COMPARE[comparator]
            run_start: float | None = None
            for at_point, raw in points:
                if compare(self._convert(raw, values), threshold):
                    run_start = at_point if run_start is None else run_start
                else:
                    run_start = None
            held_wall = 0.0 if run_start is None else points[-1][0] - run_start
            holds = run_start is not None and held_wall + _EPSILON_SECONDS >= window.wall_seconds
            converted = [self._convert(v, values) for _, v in inside]
            value = min(converted) if comparator in (">", ">=") else max(converted)
            held_plan = held_wall * self.time_scale
            status = WindowStatus.HOLDS if holds else WindowStatus.CLEAR
            reason = (
                f"{condition} held for {format_duration(held_plan)} of the "
                f"{window.plan_text} window ({len(inside)} samples)"
                if run_start is not None
                else f"{condition} does not hold at the newest sample ({len(inside)} samples)"
            )
        return WindowResult(
            kind="sustained",
            source=self.source.name,
            query=query.promql(),
            window=window,
            samples=len(inside),
            series=0 if series is None else 1,
            value=value,
            unit=unit,
            comparator=comparator,
            threshold=threshold,
            status=status,
            held_plan_seconds=held_plan,
            reason=reason,
        )

    def sustained_for_qi(
        self, qi: QiDefinition, query: MetricQuery, *, values: ValueKind, at: float | None = None
    ) -> WindowResult:
        """`sustained` with the catalog's comparator, threshold and window for ``qi``."""
        if qi.window_seconds is None:
            raise InputError(f"QI {qi.id!r} has no window_seconds; it is not a sustained condition")
        return self.sustained(
            query,
            comparator=qi.comparator,
            threshold=qi.target,
            window_plan_seconds=qi.window_seconds,
            values=values,
            unit=qi.unit,
            at=at,
        )

    # ------------------------------------------------------------------ counters

    def _counter(
        self, query: MetricQuery, window: WindowBounds
    ) -> tuple[float | None, int, int, int, str]:
        """(increase, resets, samples in window, series, why-not) for a counter selector."""
        if query.aggregation not in (None, "sum"):
            raise InputError(
                f"query {query.promql()}: a counter's increase is summed over its series; use "
                f"aggregation 'sum' or none, not {query.aggregation!r}"
            )
        found = self._fetch(query.selector(), window)
        if not found:
            return None, 0, 0, 0, "no series"
        total = 0.0
        resets = 0
        samples = 0
        spanned = False
        for series in found:
            # the last point before the window is the baseline the increase starts from
            first = bisect.bisect_left(series.points, window.start - _EPSILON_SECONDS, key=_time)
            inside = self._in_window(series.points, window)
            used = series.points[first - 1 : first] + inside if first else inside
            increase, series_resets = _increase(used)
            total += increase
            resets += series_resets
            samples = max(samples, len(inside))
            spanned = spanned or self._spans(used, window)
        if samples < self.min_samples:
            return None, resets, samples, len(found), ""
        if not spanned:
            return None, resets, samples, len(found), "the samples do not span the window"
        return total, resets, samples, len(found), ""

    def rate(
        self,
        query: MetricQuery,
        *,
        window_plan_seconds: float,
        comparator: Comparator | None = None,
        threshold: float | None = None,
        at: float | None = None,
    ) -> WindowResult:
        """Per-wall-second rate of a counter over the window (physical rates stay wall-clock)."""
        window = self.window(window_plan_seconds, at)
        increase, resets, samples, series, why = self._counter(query, window)
        value = None if increase is None else increase / window.wall_seconds
        status, reason = self._judge(value, comparator, threshold, window, samples, why)
        return WindowResult(
            kind="rate",
            source=self.source.name,
            query=query.promql(),
            window=window,
            samples=samples,
            series=series,
            value=value,
            unit="per_wall_second",
            comparator=comparator,
            threshold=threshold,
            status=status,
            increase=increase,
            counter_resets=resets,
            reason=reason,
        )

    def ratio(
        self,
        numerator: MetricQuery,
        denominator: MetricQuery,
        *,
        window_plan_seconds: float,
        min_denominator: float = 1.0,
        comparator: Comparator | None = None,
        threshold: float | None = None,
        at: float | None = None,
    ) -> WindowResult:
        """increase(numerator) / increase(denominator) over the window, as a fraction."""
        window = self.window(window_plan_seconds, at)
        top, top_resets, top_samples, _, top_why = self._counter(numerator, window)
        bottom, bottom_resets, samples, series, why = self._counter(denominator, window)
        samples = min(samples, top_samples)
        why = why or top_why
        value: float | None = None
        if top is not None and bottom is not None:
            if bottom < min_denominator:
                why = f"denominator grew by {bottom:g}, need at least {min_denominator:g}"
            else:
                value = top / bottom
        status, reason = self._judge(value, comparator, threshold, window, samples, why)
        return WindowResult(
            kind="ratio",
            source=self.source.name,
            query=numerator.promql(),
            denominator_query=denominator.promql(),
            window=window,
            samples=samples,
            series=series,
            value=value,
            unit="fraction",
            comparator=comparator,
            threshold=threshold,
            status=status,
            increase=top,
            denominator_increase=bottom,
            counter_resets=top_resets + bottom_resets,
            reason=reason,
        )

    def burn(
        self,
        errors: MetricQuery,
        requests: MetricQuery,
        *,
        slo_target: float,
        window_plan_seconds: float,
        period_plan_seconds: float = SLO_PERIOD_PLAN_SECONDS,
        min_requests: float = 1.0,
        comparator: Comparator | None = ">=",
        threshold: float | None = None,
        at: float | None = None,
    ) -> WindowResult:
        """Share of the period's error budget consumed in the window (2%/1h, 10%/6h tripwires)."""
        if not 0 < slo_target < 1:
            raise InputError(f"slo_target must be between 0 and 1 exclusive, not {slo_target!r}")
        ratio = self.ratio(
            errors,
            requests,
            window_plan_seconds=window_plan_seconds,
            min_denominator=min_requests,
            at=at,
        )
        burn_rate = None if ratio.value is None else ratio.value / (1 - slo_target)
        value = (
            None
            if burn_rate is None
            else burn_rate * ratio.window.plan_seconds / period_plan_seconds
        )
        judged_by = comparator if threshold is not None else None
        if value is None:
            status, reason = WindowStatus.NOT_ENOUGH_DATA, ratio.reason
        else:
            status, reason = self._judge(
                value, judged_by, threshold, ratio.window, ratio.samples, ""
            )
            reason = (
                f"{ratio.increase:g} errors of {ratio.denominator_increase:g} requests: burn "
                f"rate {burn_rate:.4g}, {value:.4%} of the budget in {ratio.window.plan_text}; "
                + reason
            )
        return ratio.model_copy(
            update={
                "kind": "burn",
                "value": value,
                "burn_rate": burn_rate,
                "comparator": judged_by,
                "threshold": threshold,
                "status": status,
                "reason": reason,
            }
        )

    def burn_for_qi(
        self,
        qi: QiDefinition,
        errors: MetricQuery,
        requests: MetricQuery,
        *,
        slo_target: float,
        min_requests: float = 1.0,
        at: float | None = None,
    ) -> WindowResult:
        """`burn` with the catalog's window, comparator and threshold (tripwire_burn_fast/slow)."""
        if qi.window_seconds is None:
            raise InputError(f"QI {qi.id!r} has no window_seconds; it is not a burn window")
        return self.burn(
            errors,
            requests,
            slo_target=slo_target,
            window_plan_seconds=qi.window_seconds,
            min_requests=min_requests,
            comparator=qi.comparator,
            threshold=qi.target,
            at=at,
        )

    # ------------------------------------------------------------------ statistics

    def statistic(
        self,
        query: MetricQuery,
        *,
        statistic: Statistic,
        window_plan_seconds: float,
        values: ValueKind = "plain",
        comparator: Comparator | None = None,
        threshold: float | None = None,
        unit: str = "",
        at: float | None = None,
    ) -> WindowResult:
        """min, max or a nearest-rank quantile (p50/p95/p99) of a gauge over the window."""
        window = self.window(window_plan_seconds, at)
        series = self._one_series(query, window)
        inside = self._in_window(series.points, window) if series is not None else ()
        value: float | None = None
        why = ""
        if len(inside) >= self.min_samples:
            if series is not None and not self._spans(series.points, window):
                why = "the samples do not span the window"
            else:
                converted = [self._convert(v, values) for _, v in inside]
                if statistic == "min":
                    value = min(converted)
                elif statistic == "max":
                    value = max(converted)
                else:
                    value = _nearest_rank(converted, _QUANTILES[statistic])
        status, reason = self._judge(value, comparator, threshold, window, len(inside), why)
        return WindowResult(
            kind="statistic",
            source=self.source.name,
            query=f"{statistic}({query.promql()})",
            window=window,
            samples=len(inside),
            series=0 if series is None else 1,
            value=value,
            unit=unit or ("seconds" if values == "wall_seconds" else ""),
            comparator=comparator,
            threshold=threshold,
            status=status,
            reason=reason,
        )

    # ------------------------------------------------------------------ judging

    def _judge(
        self,
        value: float | None,
        comparator: Comparator | None,
        threshold: float | None,
        window: WindowBounds,
        samples: int,
        why: str,
    ) -> tuple[WindowStatus, str]:
        if value is None:
            return WindowStatus.NOT_ENOUGH_DATA, self._thin(window, samples, why)
        if comparator is None or threshold is None:
            return WindowStatus.MEASURED, (
                f"{value:.6g} over the {window.plan_text} window ({samples} samples)"
            )
        holds = _COMPARE[comparator](value, threshold)
        word = "holds" if holds else "does not hold"
        return (
            WindowStatus.HOLDS if holds else WindowStatus.CLEAR,
            f"{value:.6g} {comparator} {threshold:g} {word} over the {window.plan_text} "
            f"window ({samples} samples)",
        )
