"""The plan's validation gates (§A.2.3) over a window, from the target's own metrics.

`GateWindow` records the gate metrics while a stage holds (direct scrapes need recording;
a Prometheus source has its own history), then judges each gate over the window against
the QI catalog: replication lag (max, plan seconds; the worse of the target's figure and
the lag the suite's own marker writes proved over the window), conflict rate (conflicts /
writes as counts, with its exact binomial bound), privacy violations (new residency
violations) and cost budget consumed. It also measures how the GLB actually split the
tenant's traffic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from types import TracebackType
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from pytest_mc.drivers.lag_probe import LagObservation, judged_lag
from pytest_mc.metrics.evaluator import WindowEvaluator, WindowResult
from pytest_mc.metrics.scrape import ScrapeRecorder, ScrapeSource, closing_sample
from pytest_mc.metrics.source import MetricQuery, MetricSource
from pytest_mc.metrics.store import SampleStore
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Judgement, Ratio, judge

_STRICT = ConfigDict(extra="forbid", frozen=True)
VALIDATION_GATES = ("replication_lag", "conflict_rate", "privacy_violations", "budget_utilization")


class GateReading(BaseModel):
    """One gate judged over one window, with the metric evidence behind it."""

    model_config = _STRICT
    qi_id: str
    judgement: Judgement
    window: WindowResult


class TrafficSplit(BaseModel):
    """How many of the tenant's requests each region served through the GLB in the window."""

    model_config = _STRICT
    requests_by_region: dict[str, float]

    def share(self, region: str) -> Ratio:
        total = round(sum(self.requests_by_region.values()))
        return Ratio(
            events=min(total, round(self.requests_by_region.get(region, 0.0))), trials=total
        )


class GateQueries(NamedTuple):
    """Every series the gates read for one tenant (what a scrape recorder must keep)."""

    lag: MetricQuery
    conflicts: MetricQuery
    writes: MetricQuery
    violations: MetricQuery
    budget: MetricQuery
    glb_requests: MetricQuery


def recorded_queries(queries: Iterable[MetricQuery]) -> tuple[MetricQuery, ...]:
    """What a scrape recorder must keep to answer `queries`: each query and its plain
    selector (a counter's increase is read per series, then summed), each once."""
    recorded = {q.promql(): q for q in queries}
    recorded.update({q.selector().promql(): q.selector() for q in queries})
    return tuple(recorded.values())


def gate_queries(tenant: str) -> GateQueries:
    """The contract's gate metrics of one tenant (target contract §4), their one home: the
    stage holds' gates and the bake's slices both read these."""
    return GateQueries(
        lag=MetricQuery.of("mc_tenant_replication_lag_seconds", aggregation="max", tenant=tenant),
        conflicts=MetricQuery.of(
            "mc_replication_conflicts_total", aggregation="sum", tenant=tenant
        ),
        writes=MetricQuery.of("mc_writes_total", aggregation="sum", tenant=tenant),
        violations=MetricQuery.of(
            "mc_residency_violations_total", aggregation="sum", tenant=tenant
        ),
        budget=MetricQuery.of("mc_cost_budget_consumed_ratio", aggregation="max", tenant=tenant),
        glb_requests=MetricQuery.of(
            "mc_glb_requests_total", aggregation="sum", by=("region",), tenant=tenant
        ),
    )


class GateWindow:
    """Records a tenant's gate metrics from `__enter__` to `__exit__`, then judges them."""

    def __init__(
        self,
        source: MetricSource,
        evaluator: WindowEvaluator,
        catalog: QiCatalog,
        tenant: str,
        *,
        interval_seconds: float,
    ) -> None:
        self.source = source
        self.evaluator = evaluator
        self.catalog = catalog
        self.tenant = tenant
        self.interval_seconds = interval_seconds
        self.queries = gate_queries(tenant)
        self._recorder: ScrapeRecorder | None = None
        self._owned: ScrapeSource | None = None
        self.started = 0.0
        self.ended = 0.0
        self.judged_at = 0.0  # the window closes here: the first scrape at or after `ended`
        # the suite's own marker writes over the window (`drivers.lag_probe`), when taken
        self.lag_observation: LagObservation | None = None

    def for_hold(self, wall_seconds: float) -> GateWindow:
        """Scrape into a store of this window's own, sized to hold all of it in memory: a
        stage's gates never depend on what other windows recorded or evicted."""
        if isinstance(self.source, ScrapeSource):
            capacity = max(16, math.ceil(wall_seconds / self.interval_seconds) * 2 + 64)
            own = ScrapeSource(
                self.source.endpoints, store=SampleStore(capacity_per_series=capacity)
            )
            self.source = own
            self._owned = own
            self.evaluator = WindowEvaluator(
                own,
                time_scale=self.evaluator.time_scale,
                sample_interval_seconds=self.evaluator.sample_interval_seconds,
            )
        return self

    def __enter__(self) -> GateWindow:
        if isinstance(self.source, ScrapeSource):
            self._recorder = ScrapeRecorder(
                self.source, recorded_queries(self.queries), self.interval_seconds
            )
            self._recorder.start()
        self.started = time.time()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._recorder is not None and exc_type is None:
            # a window shorter than the samples a judgement needs (a short campaign over a
            # fast channel) is held open until it has them, plus one for the scrape's jitter
            needed = (self.evaluator.min_samples + 1) * self.interval_seconds
            remaining = self.started + needed - time.time()
            if remaining > 0:
                time.sleep(remaining)
        self.ended = time.time()
        self.judged_at = self.ended
        if self._recorder is not None:
            self.judged_at = closing_sample(self._recorder, self.ended)
            self._recorder.stop()
        if self._owned is not None:
            self._owned.close()  # its store keeps the window for judging

    def recording_note(self) -> str:
        """How the window's own recording went (for a gate that found no data)."""
        recorder = self._recorder
        if recorder is None:
            return "samples came from the profile's metric source"
        note = f"{recorder.scrapes} scrapes recorded, {recorder.failed_scrapes} failed"
        if recorder.last_error:
            note += f" (last: {recorder.last_error})"
        return note

    @property
    def plan_seconds(self) -> float:
        return (self.ended - self.started) * self.evaluator.time_scale

    def judge_gates(self) -> tuple[GateReading, ...]:
        """Each validation gate over the recorded window."""
        queries = self.queries
        window, at = self.plan_seconds, self.judged_at
        lag = self.evaluator.statistic(
            queries.lag, statistic="max", window_plan_seconds=window, values="wall_seconds", at=at
        )
        conflicts = self.evaluator.ratio(
            queries.conflicts, queries.writes, window_plan_seconds=window, at=at
        )
        violations = self.evaluator.rate(queries.violations, window_plan_seconds=window, at=at)
        budget = self.budget_consumed()
        conflict_counts = (
            Ratio(
                events=round(conflicts.increase or 0),
                trials=max(
                    round(conflicts.denominator_increase or 0), round(conflicts.increase or 0)
                ),
            )
            if conflicts.increase is not None and conflicts.denominator_increase is not None
            else None
        )
        return (
            self._reading("replication_lag", self.judged_lag(lag.value), lag),
            self._reading("conflict_rate", conflict_counts, conflicts),
            self._reading("privacy_violations", violations.increase, violations),
            self._reading("budget_utilization", budget.value, budget),
        )

    def judged_lag(self, reported: float | None) -> float | None:
        """The lag the gate judges: the worse of the target's figure and the lag the suite's
        markers proved over the window (`drivers.lag_probe.judged_lag`)."""
        return judged_lag(reported, self.lag_observation)

    def budget_consumed(self) -> WindowResult:
        """The most of its cost budget the tenant had consumed at any sample in the window."""
        return self.evaluator.statistic(
            self.queries.budget,
            statistic="max",
            window_plan_seconds=self.plan_seconds,
            at=self.judged_at,
        )

    def traffic_split(self) -> TrafficSplit:
        """Requests per region through the GLB over the window (counter increases)."""
        query = self.queries.glb_requests
        series = self.source.series(query, self.started, self.ended)
        split: dict[str, float] = {}
        for line in series.series:
            if len(line.points) >= 2:
                region = line.labels.get("region", "")
                split[region] = max(0.0, line.points[-1][1] - line.points[0][1])
        return TrafficSplit(requests_by_region=split)

    def _reading(
        self, qi_id: str, value: float | Ratio | None, window: WindowResult
    ) -> GateReading:
        # A rate takes its volume from its counts; other gates from the window's samples.
        samples = None if isinstance(value, Ratio) else window.samples
        judgement = judge(self.catalog.get(qi_id), value, samples=samples)
        return GateReading(qi_id=qi_id, judgement=judgement, window=window)
