"""Window semantics: sustained edges in plan time, counters with resets, ratios, burn, quantiles."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from pytest_mc.errors import InputError
from pytest_mc.metrics.evaluator import (
    WindowEvaluator,
    WindowStatus,
    require_measurable,
)
from pytest_mc.metrics.source import MetricQuery, Sample
from pytest_mc.metrics.store import RecordedSource, SampleStore
from pytest_mc.policy.catalog import QiCatalog, load_catalog

T0 = 1_800_000_000.0
LAG = MetricQuery.of("mc_tenant_replication_lag_seconds", tenant="TENANT_001")
ERRORS = MetricQuery.of("mc_requests_total", aggregation="sum", tenant="TENANT_001", code="503")
REQUESTS = MetricQuery.of("mc_requests_total", aggregation="sum", tenant="TENANT_001")


def _evaluator(
    store: SampleStore, *, time_scale: float = 1.0, interval: float = 1.0
) -> WindowEvaluator:
    return WindowEvaluator(
        RecordedSource(store), time_scale=time_scale, sample_interval_seconds=interval
    )


def _feed(store: SampleStore, query: MetricQuery, points: Iterable[tuple[float, float]]) -> None:
    for at, value in points:
        store.append(query.promql(), at, [Sample(labels={"tenant": "TENANT_001"}, value=value)])


def _store() -> SampleStore:
    return SampleStore(capacity_per_series=100_000)


# ------------------------------------------------------------------ sustained, plan time 1:1


@pytest.mark.parametrize(
    ("above_for_seconds", "expected"),
    [
        (599, WindowStatus.CLEAR),  # one sample short of 10m
        (600, WindowStatus.HOLDS),  # exactly 10m
        (900, WindowStatus.HOLDS),  # longer
    ],
)
def test_lag_sustained_needs_the_whole_window(
    above_for_seconds: int, expected: WindowStatus
) -> None:
    store = _store()
    now = T0 + 2000
    start_above = now - above_for_seconds
    _feed(
        store, LAG, ((t, 61.0 if t >= start_above else 12.0) for t in range(int(T0), 1 + int(now)))
    )
    result = _evaluator(store).sustained(
        LAG, comparator=">", threshold=60.0, window_plan_seconds=600, at=now
    )
    assert result.status is expected
    # how long it held, as far as the window and its look-back (10% of it) can show
    assert result.held_plan_seconds == pytest.approx(min(above_for_seconds, 660))
    assert result.samples == 601
    assert result.window.plan_text == "10m"


def test_a_single_dip_restarts_the_run() -> None:
    store = _store()
    now = T0 + 1000
    _feed(store, LAG, ((T0 + s, 30.0 if s == 700 else 90.0) for s in range(1001)))
    result = _evaluator(store).sustained(
        LAG, comparator=">", threshold=60.0, window_plan_seconds=600, at=now
    )
    assert result.status is WindowStatus.CLEAR
    assert result.held_plan_seconds == pytest.approx(299)
    assert result.value == 30.0  # the least extreme sample in the window is what is judged


def test_exactly_at_the_threshold_is_not_above_it() -> None:
    store = _store()
    _feed(store, LAG, ((T0 + s, 60.0) for s in range(700)))
    result = _evaluator(store).sustained(
        LAG, comparator=">", threshold=60.0, window_plan_seconds=600, at=T0 + 699
    )
    assert result.status is WindowStatus.CLEAR
    assert "does not hold at the newest sample" in result.reason


def test_wall_seconds_are_converted_to_plan_time_at_the_profile_scale() -> None:
    # time_scale 600: the 10m window is 1s wall; lag 0.11s wall is 66s plan (> 60s)
    store = _store()
    points = [(T0 + i * 0.1, 0.11 if i >= 10 else 0.05) for i in range(30)]
    _feed(store, LAG, points)
    evaluator = _evaluator(store, time_scale=600, interval=0.1)
    held_just_short = evaluator.sustained(
        LAG,
        comparator=">",
        threshold=60.0,
        window_plan_seconds=600,
        values="wall_seconds",
        at=T0 + 1.9,
    )
    assert held_just_short.status is WindowStatus.CLEAR
    assert held_just_short.held_plan_seconds == pytest.approx(540)
    held_exactly = evaluator.sustained(
        LAG,
        comparator=">",
        threshold=60.0,
        window_plan_seconds=600,
        values="wall_seconds",
        at=T0 + 2.0,
    )
    assert held_exactly.status is WindowStatus.HOLDS
    assert held_exactly.value == pytest.approx(66.0)
    assert held_exactly.window.wall_seconds == pytest.approx(1.0)
    assert held_exactly.unit == "seconds"


@pytest.fixture(scope="module")
def catalog() -> QiCatalog:
    return load_catalog()


def test_sustained_from_the_catalog_qi(catalog: QiCatalog) -> None:
    store = _store()
    _feed(store, LAG, ((T0 + s, 75.0) for s in range(0, 1200, 15)))  # a 15 s scrape interval
    evaluator = _evaluator(store, interval=15.0)
    result = evaluator.sustained_for_qi(
        catalog.get("tripwire_replication_lag"), LAG, values="plain", at=T0 + 1185
    )
    assert result.status is WindowStatus.HOLDS
    assert (result.comparator, result.threshold, result.window.plan_seconds) == (">", 60.0, 600.0)
    assert result.samples == 41


@pytest.mark.parametrize("samples", [0, 1, 4])
def test_too_few_samples_is_never_a_verdict(samples: int) -> None:
    store = _store()
    _feed(store, LAG, ((T0 + 600 - i * 100, 99.0) for i in reversed(range(samples))))
    result = _evaluator(store, interval=100.0).sustained(
        LAG, comparator=">", threshold=60.0, window_plan_seconds=600, at=T0 + 600
    )
    assert result.status is WindowStatus.NOT_ENOUGH_DATA
    assert result.holds is None
    assert result.value is None
    assert result.samples == samples
    assert f"{samples} samples, need at least 5" in result.reason


def test_a_query_with_several_series_is_refused_with_a_fix() -> None:
    store = _store()
    raw = MetricQuery.of("mc_replication_lag_seconds")
    for t in range(10):
        store.append(
            raw.promql(),
            T0 + t,
            [
                Sample(labels={"tenant": "TENANT_001"}, value=1.0),
                Sample(labels={"tenant": "TENANT_002"}, value=2.0),
            ],
        )
    with pytest.raises(InputError, match=r"yields 2 series .* aggregate it"):
        _evaluator(store).sustained(
            raw, comparator=">", threshold=1.0, window_plan_seconds=5, at=T0 + 9
        )


# ------------------------------------------------------------------ counters


def _counter(store: SampleStore, labels: dict[str, str], values: Iterable[tuple[float, float]]):
    query = REQUESTS.selector().promql()
    for at, value in values:
        store.append(query, at, [Sample(labels=labels, value=value)])


def test_rate_handles_a_counter_reset() -> None:
    store = _store()
    # +10 per second; the process restarts at t=50 and counts from 0 again
    values = [(T0 + t, 1000.0 + 10 * t if t < 50 else 10.0 * (t - 50)) for t in range(101)]
    _counter(store, {"tenant": "TENANT_001", "region": "eu-west"}, values)
    result = _evaluator(store).rate(REQUESTS, window_plan_seconds=100, at=T0 + 100)
    assert result.counter_resets == 1
    # 49 steps of +10 before the restart, the reset step counts its new value (0), 50 of +10
    assert result.increase == pytest.approx(490 + 0 + 500)
    assert result.value == pytest.approx(990 / 100)
    assert result.unit == "per_wall_second"
    assert result.status is WindowStatus.MEASURED


def test_rate_sums_increases_per_series_not_the_sum_of_values() -> None:
    # one region's series disappears mid-window (a crash): summing values first would look
    # like a reset and count the survivor's whole value again
    store = _store()
    _counter(
        store,
        {"region": "eu-west", "tenant": "TENANT_001"},
        ((T0 + t, 500.0 + t) for t in range(61)),
    )
    _counter(
        store,
        {"region": "eu-central", "tenant": "TENANT_001"},
        ((T0 + t, 800.0 + 2 * t) for t in range(31)),
    )
    result = _evaluator(store).rate(REQUESTS, window_plan_seconds=60, at=T0 + 60)
    assert result.increase == pytest.approx(60 + 60)
    assert result.counter_resets == 0
    assert result.series == 2


def _ratio_feed(store: SampleStore) -> None:
    # 99 successes and 1 error every 10 s for 600 s; requests counts both codes
    ok = {"tenant": "TENANT_001", "code": "200"}
    bad = {"tenant": "TENANT_001", "code": "503"}
    for t in range(0, 601, 10):
        store.append(
            REQUESTS.selector().promql(),
            T0 + t,
            [Sample(labels=ok, value=1000.0 + 9.9 * t), Sample(labels=bad, value=5.0 + t / 10)],
        )
        store.append(ERRORS.selector().promql(), T0 + t, [Sample(labels=bad, value=5.0 + t / 10)])


def test_ratio_of_two_counters_and_its_minimum_volume() -> None:
    store = _store()
    _ratio_feed(store)
    evaluator = _evaluator(store, interval=10.0)
    result = evaluator.ratio(
        ERRORS, REQUESTS, window_plan_seconds=600, at=T0 + 600, comparator=">", threshold=0.001
    )
    assert result.increase == pytest.approx(60)
    assert result.denominator_increase == pytest.approx(6000)
    assert result.value == pytest.approx(0.01)
    assert result.status is WindowStatus.HOLDS
    assert result.denominator_query == 'sum (mc_requests_total{tenant="TENANT_001"})'
    thin = evaluator.ratio(
        ERRORS, REQUESTS, window_plan_seconds=600, at=T0 + 600, min_denominator=10_000
    )
    assert thin.status is WindowStatus.NOT_ENOUGH_DATA
    assert thin.value is None
    assert "denominator grew by 6000, need at least 10000" in thin.reason


def test_burn_is_the_share_of_the_period_budget_consumed_in_the_window() -> None:
    store = _store()
    _ratio_feed(store)
    evaluator = _evaluator(store, time_scale=6.0, interval=10.0)  # 600 s wall = 1h plan
    result = evaluator.burn(
        ERRORS, REQUESTS, slo_target=0.999, window_plan_seconds=3600, threshold=0.02, at=T0 + 600
    )
    # error ratio 1% against a 0.1% allowance: burn rate 10; 1h of a 30d period: 10/720
    assert result.burn_rate == pytest.approx(10.0)
    assert result.value == pytest.approx(10.0 / 720)
    assert result.status is WindowStatus.CLEAR  # 1.39% < 2%
    assert result.kind == "burn"
    hot = evaluator.burn(
        ERRORS, REQUESTS, slo_target=0.9995, window_plan_seconds=3600, threshold=0.02, at=T0 + 600
    )
    assert hot.value == pytest.approx(20.0 / 720)
    assert hot.status is WindowStatus.HOLDS


def test_burn_from_the_catalog_tripwires(catalog: QiCatalog) -> None:
    store = _store()
    _ratio_feed(store)
    # scale 36: 600 s wall = 6h plan
    evaluator = _evaluator(store, time_scale=36.0, interval=10.0)
    slow = evaluator.burn_for_qi(
        catalog.get("tripwire_burn_slow"), ERRORS, REQUESTS, slo_target=0.999, at=T0 + 600
    )
    assert slow.value == pytest.approx(10.0 * 6 / 720)  # 8.3%: above the workbook's 5%, below 10%
    assert slow.status is WindowStatus.CLEAR
    assert (slow.comparator, slow.threshold) == (">=", 0.1)


def test_a_counter_window_the_samples_do_not_span_is_not_enough_data() -> None:
    store = _store()
    _counter(store, {"tenant": "TENANT_001"}, ((T0 + t, float(t)) for t in range(300, 601, 10)))
    result = _evaluator(store, interval=10.0).rate(REQUESTS, window_plan_seconds=600, at=T0 + 600)
    assert result.status is WindowStatus.NOT_ENOUGH_DATA
    assert "do not span the window" in result.reason


def test_max_aggregation_on_a_counter_is_refused() -> None:
    with pytest.raises(InputError, match="a counter's increase is summed"):
        _evaluator(_store()).rate(
            MetricQuery.of("mc_writes_total", aggregation="max"), window_plan_seconds=60
        )


# ------------------------------------------------------------------ statistics and scale


def test_min_max_and_nearest_rank_p99() -> None:
    store = _store()
    _feed(store, LAG, ((T0 + t, float(t % 100)) for t in range(201)))  # 0..99 twice, then 0
    evaluator = _evaluator(store)
    at = T0 + 199
    p99 = evaluator.statistic(LAG, statistic="p99", window_plan_seconds=199, at=at)
    assert p99.samples == 200
    assert p99.value == 98.0  # rank ceil(0.99 * 200) = 198 of 0,0,1,1,...,99,99
    assert evaluator.statistic(LAG, statistic="max", window_plan_seconds=199, at=at).value == 99.0
    low = evaluator.statistic(
        LAG, statistic="min", window_plan_seconds=49, at=at, comparator=">=", threshold=50
    )
    assert (low.value, low.status, low.samples) == (50.0, WindowStatus.HOLDS, 50)


def test_a_scale_that_leaves_fewer_than_five_samples_is_refused_with_a_working_scale() -> None:
    require_measurable(600, time_scale=600, sample_interval_seconds=0.1, what="lag tripwire")
    with pytest.raises(InputError) as refused:
        require_measurable(600, time_scale=1500, sample_interval_seconds=0.1, what="lag tripwire")
    assert str(refused.value) == (
        "window 10m of lag tripwire is 0.4s wall at time_scale 1500: only 4.0 samples at 0.1s, "
        "need 5; use time_scale <= 1200 or metrics.sample_interval_seconds <= 0.08"
    )


def test_a_late_scrape_before_the_end_is_no_data_unless_the_window_closes_at_a_sample() -> None:
    """Samples every 10 s, then one scrape 30 s late: the window ending between the two finds
    its last point too far from its end; closed at the late sample, the same length is judged."""
    store = _store()
    times = [*range(0, 551, 10), 590]
    _counter(store, {"tenant": "TENANT_001"}, ((T0 + t, float(t)) for t in times))
    evaluator = _evaluator(store, interval=10.0)

    at_end = evaluator.rate(REQUESTS, window_plan_seconds=300, at=T0 + 580)
    assert at_end.status is WindowStatus.NOT_ENOUGH_DATA
    assert "do not span the window" in at_end.reason

    closed = evaluator.rate(REQUESTS, window_plan_seconds=300, at=T0 + 590)
    assert closed.status is WindowStatus.MEASURED
    assert closed.increase == pytest.approx(310.0)  # from the last point before it (280 s) to 590 s
