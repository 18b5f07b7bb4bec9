"""Distributed load judged as one: k6 runs split into execution segments, merged.

When the load outgrows one machine, k6-operator splits a TestRun over runner pods by k6
execution segments, and each pod judges the thresholds on its own share only. A 1% failure
rate concentrated in one pod of four is a 4% rate there and 1% over the test, and the
reverse: four pods each just inside a latency bound say nothing of the whole. The suite
collects every runner's summary and judges the run's thresholds over the **merged counts**:

* counts add up (requests, failures, persisted and ad-hoc queries, checks, iterations);
* a rate threshold (`http_req_failed`, `mc_non_persisted`) is judged on the summed events over
  the summed trials, exactly as k6 computes a rate;
* percentiles do not merge, so the script counts each request slower than the latency
  objective (`mc_over_latency_objective`, the bound of the `p(Q)` threshold); `p(Q)<=T` holds
  over the merged run when at most (1 - Q/100)·(n - 1) of its n requests were slower than T,
  which is k6's own interpolated percentile. In the one-request band where interpolation
  decides, the counts cannot tell and the threshold is not passed.

`run_segmented` shows it on one machine: N k6 processes, each one segment, as the operator
would run them, merged into one `K6Summary` whose thresholds are judged here, not by k6.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from pytest_mc.drivers.k6 import LATENCY_PERCENTILE, K6Driver, latency_objective_ms
from pytest_mc.drivers.k6_models import (
    ExecutionSegment,
    K6Load,
    K6Result,
    K6Summary,
    K6Thresholds,
    ThresholdResult,
    TrendStats,
)
from pytest_mc.errors import InputError

_STRICT = ConfigDict(extra="forbid", frozen=True)
_RATE = re.compile(r"rate(?P<op><=|<|>=|>|==)(?P<bound>\d+(?:\.\d+)?(?:e[+-]?\d+)?)")
_COMPARE = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "==": lambda a, b: a == b,
}


class SegmentedRun(BaseModel):
    """The runs of every segment and the one summary they merge into."""

    model_config = _STRICT
    segments: tuple[K6Result, ...]
    merged: K6Summary

    @property
    def thresholds_crossed(self) -> bool:
        return not self.merged.thresholds_passed


def _rate_counts(summary: K6Summary, metric: str) -> tuple[int, int] | None:
    """(events, trials) of a rate metric the summary carries as counts."""
    if metric == "http_req_failed":
        return summary.failed_requests, summary.requests
    if metric == "mc_non_persisted":
        if summary.adhoc_requests is None or summary.persisted_requests is None:
            return None
        return summary.adhoc_requests, summary.adhoc_requests + summary.persisted_requests
    if metric == "mc_over_latency_objective":
        if summary.over_latency_objective is None or summary.latency_timed is None:
            return None
        return summary.over_latency_objective, summary.latency_timed
    return None


def judge_merged(
    summary: K6Summary, metric: str, expression: str, *, objective_ms: float | None
) -> bool:
    """Whether one threshold holds over the merged counts (raises for one that cannot be
    judged from counts: name a rate, or the latency percentile bound the script counted
    requests against, `objective_ms`)."""
    rate = _RATE.fullmatch(expression)
    if rate is not None:
        counts = _rate_counts(summary, metric)
        if counts is None:
            raise InputError(
                f"threshold {metric}: {expression} cannot be judged over merged runs: the "
                "summaries carry no counts of that rate"
            )
        events, trials = counts
        # k6 passes a rate threshold of a metric with no sample (0/0 is a rate of 0)
        value = events / trials if trials else 0.0
        return bool(_COMPARE[rate.group("op")](value, float(rate.group("bound"))))
    percentile = LATENCY_PERCENTILE.fullmatch(expression)
    if metric == "http_req_duration" and percentile is not None:
        bound = float(percentile.group("bound"))
        slower, timed = summary.over_latency_objective, summary.latency_timed
        if slower is None or timed is None or objective_ms != bound:
            raise InputError(
                f"threshold {metric}: {expression} cannot be judged over merged runs: the runs "
                f"did not count their requests against {bound:g} ms (LATENCY_OBJECTIVE_MS)"
            )
        if timed == 0:
            return True
        share_above = 1.0 - float(percentile.group("pct")) / 100.0
        return slower <= share_above * (timed - 1)
    raise InputError(
        f"threshold {metric}: {expression} cannot be judged over merged runs; merged runs judge "
        "rate thresholds and a p(Q)<=T latency bound"
    )


def merge_summaries(summaries: Sequence[K6Summary], thresholds: K6Thresholds) -> K6Summary:
    """One summary of the whole run from the summaries of its segments, with `thresholds`
    judged over the merged counts."""
    if not summaries:
        raise InputError("no k6 summary to merge: give the summary of every runner")
    objective = latency_objective_ms(thresholds)

    def total(field: str) -> int | None:
        values = [getattr(s, field) for s in summaries]
        return None if any(v is None for v in values) else sum(values)

    requests = sum(s.requests for s in summaries)
    latencies = [s.latency_ms for s in summaries if s.latency_ms is not None]
    weighted = [
        (s.latency_ms.avg, s.requests)
        for s in summaries
        if s.latency_ms is not None and s.latency_ms.avg is not None
    ]
    merged = K6Summary(
        requests=requests,
        failed_requests=sum(s.failed_requests for s in summaries),
        persisted_requests=total("persisted_requests"),
        adhoc_requests=total("adhoc_requests"),
        adhoc_refused=sum(s.adhoc_refused for s in summaries),
        denied_requests=sum(s.denied_requests for s in summaries),
        checks_passed=sum(s.checks_passed for s in summaries),
        checks_failed=sum(s.checks_failed for s in summaries),
        iterations=sum(s.iterations for s in summaries),
        # min, max and the mean merge; the percentiles do not and are left out
        latency_ms=None
        if not latencies
        else TrendStats(
            avg=(
                sum(avg * n for avg, n in weighted) / sum(n for _, n in weighted)
                if weighted and sum(n for _, n in weighted)
                else None
            ),
            min=min((t.min for t in latencies if t.min is not None), default=None),
            max=max((t.max for t in latencies if t.max is not None), default=None),
        ),
        over_latency_objective=None if objective is None else total("over_latency_objective"),
        latency_timed=None if objective is None else total("latency_timed"),
    )
    results = tuple(
        ThresholdResult(
            metric=spec.metric,
            expression=spec.expression,
            passed=judge_merged(merged, spec.metric, spec.expression, objective_ms=objective),
            source=spec.source,
        )
        for spec in thresholds.items
    )
    return merged.model_copy(update={"thresholds": results})


def run_segmented(
    driver: K6Driver,
    tenant_id: str,
    load: K6Load,
    *,
    parallelism: int,
    work_dir: Path,
    run_id: str = "pytest-mc",
    thresholds: K6Thresholds | None = None,
) -> SegmentedRun:
    """Run `load` as `parallelism` k6 processes at once, each one execution segment, and
    judge the thresholds over their merged summaries."""
    segments = ExecutionSegment.split_load(load, parallelism, runners="k6 processes")
    chosen = thresholds if thresholds is not None else driver.thresholds(tenant_id)
    driver.binary  # located once, before the processes start side by side  # noqa: B018
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        runs = list(
            pool.map(
                lambda segment: driver.run(
                    tenant_id,
                    load,
                    work_dir=work_dir,
                    run_id=run_id,
                    thresholds=chosen,
                    segment=segment,
                ),
                segments,
            )
        )
    merged = merge_summaries([run.summary for run in runs], chosen)
    return SegmentedRun(segments=tuple(runs), merged=merged)
