"""Segmented k6 runs judged as one: thresholds over the merged counts, not per runner."""

from __future__ import annotations

import pytest

from pytest_mc.drivers.k6_merge import judge_merged, merge_summaries
from pytest_mc.drivers.k6_models import (
    ExecutionSegment,
    K6Summary,
    K6Thresholds,
    ThresholdSpec,
    TrendStats,
)
from pytest_mc.errors import InputError

THRESHOLDS = K6Thresholds(
    items=(
        ThresholdSpec(metric="http_req_duration", expression="p(95)<=250", source="slo"),
        ThresholdSpec(metric="http_req_failed", expression="rate<=0.01", source="slo"),
        ThresholdSpec(metric="mc_non_persisted", expression="rate<=0.001", source="qi"),
    )
)


def _runner(requests: int, failed: int = 0, slow: int = 0, adhoc: int = 0) -> K6Summary:
    return K6Summary(
        requests=requests,
        failed_requests=failed,
        persisted_requests=requests - adhoc,
        adhoc_requests=adhoc,
        iterations=requests,
        latency_ms=TrendStats(avg=10.0, min=1.0, med=9.0, max=400.0, p95=20.0),
        over_latency_objective=slow,
        latency_timed=requests,
    )


def _verdicts(summary: K6Summary) -> dict[str, bool]:
    return {t.metric: t.passed for t in summary.thresholds}


def test_failures_in_one_runner_are_judged_over_the_whole_run() -> None:
    # 30 failures in one runner of four: 3% there (crossed on its own), 0.75% over the run
    runners = [_runner(1000, failed=30), _runner(1000), _runner(1000), _runner(1000)]
    merged = merge_summaries(runners, THRESHOLDS)
    assert (merged.requests, merged.failed_requests, merged.iterations) == (4000, 30, 4000)
    assert _verdicts(merged) == {
        "http_req_duration": True,
        "http_req_failed": True,
        "mc_non_persisted": True,
    }
    # and the reverse: each runner just inside 1% is 1% overall; one more failure is not
    inside = merge_summaries([_runner(1000, failed=10)] * 4, THRESHOLDS)
    assert _verdicts(inside)["http_req_failed"]
    over = merge_summaries([_runner(1000, failed=10)] * 3 + [_runner(1000, failed=11)], THRESHOLDS)
    assert not _verdicts(over)["http_req_failed"]


def test_the_latency_percentile_is_judged_from_requests_slower_than_its_bound() -> None:
    # 4 runners of 1000: p(95)<=250 holds while at most 0.05 * 3999 = 199.95 were slower
    at_bound = [_runner(1000, slow=50)] * 3 + [_runner(1000, slow=49)]
    assert _verdicts(merge_summaries(at_bound, THRESHOLDS))["http_req_duration"]
    past = [_runner(1000, slow=50)] * 4  # 200 slower: k6's interpolated p(95) may be above
    assert not _verdicts(merge_summaries(past, THRESHOLDS))["http_req_duration"]
    # one runner with all the slow requests crosses on its own; the run as a whole does not
    concentrated = [_runner(1000, slow=190), _runner(1000), _runner(1000), _runner(1000)]
    assert _verdicts(merge_summaries(concentrated, THRESHOLDS))["http_req_duration"]


def test_merged_latency_keeps_what_merges_and_drops_the_percentiles() -> None:
    merged = merge_summaries([_runner(100), _runner(300)], THRESHOLDS)
    assert merged.latency_ms == TrendStats(avg=10.0, min=1.0, max=400.0)
    assert (merged.over_latency_objective, merged.latency_timed) == (0, 400)


def test_the_ad_hoc_share_is_judged_over_every_runners_queries() -> None:
    runners = [_runner(1000, adhoc=2), _runner(1000)]  # 2 of 2000: 0.1%, at the bound
    assert _verdicts(merge_summaries(runners, THRESHOLDS))["mc_non_persisted"]
    runners = [_runner(1000, adhoc=3), _runner(1000)]
    assert not _verdicts(merge_summaries(runners, THRESHOLDS))["mc_non_persisted"]


@pytest.mark.parametrize(
    ("metric", "expression", "objective", "names"),
    [
        ("http_req_duration", "p(95)<=250", None, "did not count their requests against 250 ms"),
        ("http_req_duration", "p(95)<=300", 250.0, "against 300 ms"),
        ("http_req_duration", "avg<=100", 250.0, "merged runs judge rate thresholds"),
        ("checks", "rate>=0.99", 250.0, "the summaries carry no counts of that rate"),
    ],
)
def test_a_threshold_counts_cannot_judge_is_refused_by_name(
    metric: str, expression: str, objective: float | None, names: str
) -> None:
    with pytest.raises(InputError, match=names) as raised:
        judge_merged(_runner(10), metric, expression, objective_ms=objective)
    assert f"{metric}: {expression}" in str(raised.value)


def test_nothing_to_merge_is_refused() -> None:
    with pytest.raises(InputError, match="give the summary of every runner"):
        merge_summaries([], THRESHOLDS)


def test_execution_segments_split_the_run_as_k6_writes_them() -> None:
    thirds = ExecutionSegment.split(3)
    assert [s.segment for s in thirds] == ["0:1/3", "1/3:2/3", "2/3:1"]
    assert {s.sequence for s in thirds} == {"0,1/3,2/3,1"}
    assert ExecutionSegment.split(1)[0].segment == "0:1"
    with pytest.raises(ValueError, match="segment 3 of 3 does not exist"):
        ExecutionSegment(index=3, count=3)
