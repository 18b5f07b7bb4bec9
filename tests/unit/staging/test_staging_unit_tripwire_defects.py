"""The tripwire defects of mc_staging/defects.py that only a boundary fault tells apart, and the
lag metric that under-reports while the staging itself works on the real lag."""

from __future__ import annotations

import pytest

from mc_staging.defects import DEFECTS, exported_lag
from mc_staging.tripwires import Sampler, TripwireEvaluator


def _stats(tenant: str, lag: float = 0.0, **counters: float) -> list[dict[str, object]]:
    return [{"region": "eu-west", "tenants": {tenant: counters}, "lag_seconds": {tenant: lag}}]


def _lag_fires(evaluator: TripwireEvaluator, lag_wall: float) -> bool:
    sampler = Sampler(100.0)
    for step in range(40):  # 4 wall s: four times the 10m window at time scale 600
        now = 1000.0 + step * 0.1
        sampler.ingest(now, _stats("T", lag=lag_wall))
        _, firings = evaluator.evaluate("T", sampler, now, 0.999)
        if any(f.tripwire == "replication_lag" for f in firings):
            return True
    return False


def test_the_defects_are_known() -> None:
    assert {"tripwire-loose-threshold", "tripwire-acts-late", "lag-metric-under-reports"} <= set(
        DEFECTS
    )


def test_a_loose_lag_tripwire_misses_a_lag_just_past_and_catches_one_far_past() -> None:
    loose = frozenset({"tripwire-loose-threshold"})
    assert _lag_fires(TripwireEvaluator(600), 0.15)  # 90 plan s: healthy fires
    assert not _lag_fires(TripwireEvaluator(600, defects=loose), 0.15)
    assert _lag_fires(TripwireEvaluator(600, defects=loose), 1.0)  # 600 plan s


def _pause_after_first_error(defects: frozenset[str]) -> float | None:
    """Wall seconds from the error that takes the budget under 60% to the pause."""
    sampler, evaluator = Sampler(100.0), TripwireEvaluator(600, defects=defects)
    sampler.ingest(0.0, _stats("T", requests=0, errors=0))
    sampler.reset_period("T")
    for step in range(1, 60):
        now = step * 0.1
        errors = 1 if now >= 1.0 else 0  # one error in ~1000 requests: 100% of 0.1% spent
        sampler.ingest(now, _stats("T", requests=100 * step, errors=errors))
        _, firings = evaluator.evaluate("T", sampler, now, 0.999)
        if any(f.tripwire == "error_budget" for f in firings):
            return now - 1.0
    return None


def test_a_late_budget_tripwire_pauses_30m_of_plan_time_after_the_crossing() -> None:
    healthy = _pause_after_first_error(frozenset())
    late = _pause_after_first_error(frozenset({"tripwire-acts-late"}))
    assert healthy is not None
    assert healthy < 0.05
    assert late is not None
    assert 2.95 <= late <= 3.15  # 30m plan = 3 wall s at 600


def test_the_under_reporting_lag_defect_exports_40_percent_of_the_real_lag() -> None:
    assert exported_lag(frozenset(), 0.25) == 0.25
    assert exported_lag(frozenset({"lag-metric-under-reports"}), 0.25) == pytest.approx(0.1)
    assert exported_lag(frozenset({"tripwire-loose-threshold"}), 0.25) == 0.25
    # Only the exported figure flatters: the staging's own lag tripwire acts on the real lag.
    under = frozenset({"lag-metric-under-reports"})
    assert _lag_fires(TripwireEvaluator(600, defects=under), 0.15)
