"""The watch's own count of the error budget (from the request counters, not the target's
gauge), and faults sized from a tripwire's catalog threshold."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pytest_mc.drivers.tripwire_watch import (
    BudgetPeriod,
    TripwireWatch,
    WatchReport,
    read_budget_period,
    request_counter_queries,
)
from pytest_mc.metrics.source import MetricQuery, MetricSource
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.steps.chaos import FAULT_SIZING
from pytest_mc.steps.tripwires import explained_by_rollback
from pytest_mc.target.profile import TargetProfile


class Counters:
    """The tenant's request counters as a test moves them; the target's own remaining-budget
    gauge answers a constant untouched 1.0 (a gauge that never moves)."""

    def __init__(self) -> None:
        self.requests: float | None = 0.0
        self.errors = 0.0

    def answer(self, query: MetricQuery) -> float | None:
        requests, errors = request_counter_queries("T1")
        if query == requests:
            return self.requests
        if query == errors:
            return self.errors
        if query.metric == "mc_error_budget_remaining_ratio":
            return 1.0
        return None


def _period(requests: float = 1000.0, errors: float = 2.0) -> BudgetPeriod:
    return BudgetPeriod(
        tenant="T1",
        started_at=datetime.now(UTC),
        requests=requests,
        errors=errors,
        availability=0.999,
    )


def test_remaining_budget_is_counted_from_the_period_start() -> None:
    period = _period()
    assert period.remaining(1000.0, 2.0) is None  # no request yet in the period
    assert period.remaining(3000.0, 2.0) == pytest.approx(1.0)
    assert period.remaining(3000.0, 3.0) == pytest.approx(0.5)  # 1 error in 2000 at 0.1%
    assert period.remaining(3000.0, 1.0) is None  # a counter went back: unknown, not spent


def test_the_watch_sees_the_crossing_in_its_own_count_while_the_gauge_stays_untouched(
    answering_source: Callable[..., MetricSource],
) -> None:
    counters = Counters()
    source = answering_source(counters.answer)
    counters.requests, counters.errors = 500.0, 0.0
    period = read_budget_period(source, "T1", availability=0.999)
    assert (period.requests, period.errors) == (500.0, 0.0)
    watch = TripwireWatch(
        source,
        load_catalog(),
        "T1",
        time_scale=600,
        interval_seconds=0.01,
        availability=0.999,
        budget_period=period,
    ).start()
    counters.requests = 5500.0  # 5000 requests of the period, no error: untouched
    time.sleep(0.1)
    counters.errors = 3.0  # 3 in 5000 at 0.1% allowed: 60% spent, 40% left (< 60%)
    time.sleep(0.1)
    report = watch.stop()
    counted = report.suite_tripwires["tripwire_error_budget"]
    assert counted.condition_first_seen_at is not None
    assert counted.peak_value == pytest.approx(0.4)  # the lowest budget left, not the highest
    assert report.tripwires["tripwire_error_budget"].condition_first_seen_at is None
    assert report.budget_period == period


def test_without_a_period_the_watch_counts_from_its_own_start(
    answering_source: Callable[..., MetricSource],
) -> None:
    counters = Counters()
    source = answering_source(counters.answer)
    counters.requests, counters.errors = 10_000.0, 50.0  # spent before the watch: not its business
    watch = TripwireWatch(
        source,
        load_catalog(),
        "T1",
        time_scale=600,
        interval_seconds=0.01,
        availability=0.999,
    ).start()
    counters.requests = 20_000.0
    time.sleep(0.1)
    report = watch.stop()
    assert report.budget_period is not None
    assert report.budget_period.requests == 10_000.0
    assert report.suite_tripwires["tripwire_error_budget"].condition_first_seen_at is None


def test_read_budget_period_refuses_a_target_without_request_counters(
    answering_source: Callable[..., MetricSource],
) -> None:
    counters = Counters()
    source = answering_source(counters.answer)
    counters.requests = None
    with pytest.raises(ValueError, match="exports no mc_requests_total for tenant 'T1'"):
        read_budget_period(source, "T1", availability=0.999)


def test_fault_sizes_follow_the_catalog_threshold_and_the_time_scale(
    target_profile_document: dict[str, Any],
) -> None:
    profile = TargetProfile.model_validate({**target_profile_document, "time_scale": 600})
    catalog = load_catalog()
    lag = FAULT_SIZING[("replication-delay", "tripwire_replication_lag")]
    # 1.5 x 60 s of plan time at time scale 600: the appliers hold changes 0.15 wall seconds
    assert lag.size(catalog.get("tripwire_replication_lag"), 1.5, profile, "T1") == (
        pytest.approx(0.15)
    )
    budget = FAULT_SIZING[("error-budget-burn", "tripwire_error_budget")]
    # twice the 40% the threshold lets a period spend, at 0.1% allowed errors
    assert budget.size(catalog.get("tripwire_error_budget"), 2.0, profile, "T1") == (
        pytest.approx(0.0008)
    )
    burn = FAULT_SIZING[("error-budget-burn", "tripwire_burn_fast")]
    # 2% of the 30d budget in 1h is 14.4 times the allowed 0.1% error rate: 1.44%
    assert burn.size(catalog.get("tripwire_burn_fast"), 1.5, profile, "T1") == (
        pytest.approx(0.0216)
    )


def _report(effects: dict[str, datetime]) -> WatchReport:
    now = datetime.now(UTC)
    return WatchReport(
        tenant="T1",
        started_at=now,
        stopped_at=now,
        samples=10,
        tripwires={},
        effects_first_seen_at=effects,
    )


def test_a_glb_weight_that_comes_with_a_rollback_is_the_rollbacks() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with_rollback = _report(
        {"glb_biased": at, "tenant_active_passive": at + timedelta(seconds=0.12)}
    )
    explained = explained_by_rollback(with_rollback, {"glb_biased": at}, 0.1)
    assert explained is not None
    assert "rollback to A/P" in explained
    # a bias alone, or one well apart from the rollback, is a bias
    assert explained_by_rollback(_report({"glb_biased": at}), {"glb_biased": at}, 0.1) is None
    apart = _report({"glb_biased": at, "tenant_active_passive": at + timedelta(seconds=5)})
    assert explained_by_rollback(apart, {"glb_biased": at}, 0.1) is None
