"""The replication-lag gate of a stage hold judges the worse of the target's figure and the
lag the suite's own marker writes proved, so a metric that under-reports cannot pass it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_mc.drivers.dataplane import QueryAnswer
from pytest_mc.drivers.gates import GateWindow
from pytest_mc.drivers.lag_probe import LagObservation, MarkerLag
from pytest_mc.metrics.evaluator import WindowEvaluator
from pytest_mc.metrics.source import MetricSource
from pytest_mc.policy.catalog import load_catalog

TIME_SCALE = 600.0


def _marker(lower_wall: float, *, arrived: bool = True) -> MarkerLag:
    write = QueryAnswer(via="r1", status=200, served_by="r1")
    return MarkerLag(
        key="k",
        value="v",
        source="r1",
        peer="r2",
        write=write,
        write_started=0.0,
        write_ended=0.001,
        polls=2,
        last_miss_started=0.001 + lower_wall,
        found_ended=0.001 + lower_wall + 0.012 if arrived else None,
    )


def _observation(*markers: MarkerLag) -> LagObservation:
    return LagObservation(
        tenant="T1",
        source="r1",
        peer="r2",
        time_scale=TIME_SCALE,
        poll_wall_seconds=0.01,
        markers=markers,
        started=0.0,
        ended=1.0,
    )


@pytest.fixture
def window(answering_source: Callable[..., MetricSource]) -> GateWindow:
    source = answering_source(lambda query: None)
    evaluator = WindowEvaluator(source, time_scale=TIME_SCALE, sample_interval_seconds=0.1)
    return GateWindow(source, evaluator, load_catalog(), "T1", interval_seconds=0.1)


def test_without_markers_the_gate_judges_the_target_figure(window: GateWindow) -> None:
    assert window.judged_lag(12.0) == 12.0
    assert window.judged_lag(None) is None


def test_a_proved_lag_above_the_target_figure_is_what_the_gate_judges(
    window: GateWindow,
) -> None:
    window.lag_observation = _observation(_marker(0.01), _marker(0.15))  # 6 s, 90 s plan
    assert window.judged_lag(36.0) == pytest.approx(90.0)
    assert window.judged_lag(None) == pytest.approx(90.0)
    assert window.judged_lag(120.0) == 120.0  # a target figure above the proved lag stands


def test_a_marker_that_never_arrived_counts_for_the_time_it_was_missing(
    window: GateWindow,
) -> None:
    window.lag_observation = _observation(_marker(0.01), _marker(0.5, arrived=False))
    assert window.judged_lag(0.0) == pytest.approx(300.0)  # 0.5 s wall missing = 300 s plan
