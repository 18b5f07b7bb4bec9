"""TripwireEvaluator: thresholds, time-scaled windows and once-per-episode firing."""

from __future__ import annotations

from mc_staging.tripwires import Sampler, TripwireEvaluator


def _stats(tenant: str, lag: float = 0.0, **counters: float) -> list[dict[str, object]]:
    return [{"region": "eu-west", "tenants": {tenant: counters}, "lag_seconds": {tenant: lag}}]


def test_lag_fires_only_after_the_scaled_window() -> None:
    sampler, evaluator = Sampler(100.0), TripwireEvaluator(time_scale=600)
    fired_at = None
    for step in range(30):
        now = 1000.0 + step * 0.1
        sampler.ingest(now, _stats("T", lag=0.2))  # 120 plan s > 60
        _, firings = evaluator.evaluate("T", sampler, now, 0.999)
        if firings:
            fired_at = now
            assert firings[0].action == "bias_glb"
            break
    assert fired_at is not None
    assert fired_at - 1000.0 >= 1.0


def test_lag_below_threshold_never_fires() -> None:
    sampler, evaluator = Sampler(100.0), TripwireEvaluator(time_scale=600)
    for step in range(30):
        sampler.ingest(step * 0.1, _stats("T", lag=0.09))  # 54 plan s
        assert evaluator.evaluate("T", sampler, step * 0.1, 0.999)[1] == []


def test_conflict_between_gate_and_tripwire_fires_nothing() -> None:
    """0.07% fails the 0.05% gate but must not trip the 0.1% tripwire (plan subtlety)."""
    sampler, evaluator = Sampler(100.0), TripwireEvaluator(time_scale=600)
    sampler.ingest(0.0, _stats("T", writes=0, conflicts=0))
    sampler.ingest(0.5, _stats("T", writes=10000, conflicts=7))
    reading, firings = evaluator.evaluate("T", sampler, 0.5, 0.999)
    assert reading.conflict_ratio == 0.0007
    assert firings == []
    sampler.ingest(0.6, _stats("T", writes=10000, conflicts=12))
    assert [f.tripwire for f in evaluator.evaluate("T", sampler, 0.6, 0.999)[1]] == [
        "conflict_rate"
    ]


def test_error_budget_and_burn_and_counter_reset() -> None:
    sampler, evaluator = Sampler(100.0), TripwireEvaluator(time_scale=600)
    sampler.ingest(0.0, _stats("T", requests=1000, errors=0))
    sampler.ingest(0.1, _stats("T", requests=10, errors=0))  # region restarted: reset
    assert sampler.latest("T").totals["requests"] == 1010  # type: ignore[union-attr]
    sampler.ingest(0.2, _stats("T", requests=510, errors=5))
    reading, firings = evaluator.evaluate("T", sampler, 0.2, 0.999)
    assert reading.error_budget_remaining is not None
    assert reading.error_budget_remaining < 0.6
    # 0.33% errors burn 3.3x: the budget drains, but 2%/1h and 10%/6h are not reached
    assert {f.tripwire for f in firings} == {"error_budget"}
    sampler.ingest(0.3, _stats("T", requests=1510, errors=105))
    firings = evaluator.evaluate("T", sampler, 0.3, 0.999)[1]
    assert {f.tripwire for f in firings} == {"burn_fast", "burn_slow"}
    # fires once per episode
    assert evaluator.evaluate("T", sampler, 0.4, 0.999)[1] == []


def test_residency_fires_immediately_once_per_episode() -> None:
    sampler, evaluator = Sampler(100.0), TripwireEvaluator(time_scale=600)
    sampler.ingest(0.0, _stats("T", residency_violations=0))
    assert evaluator.evaluate("T", sampler, 0.0, 0.999)[1] == []
    sampler.ingest(0.1, _stats("T", residency_violations=3))
    firings = evaluator.evaluate("T", sampler, 0.1, 0.999)[1]
    assert [f.action for f in firings] == ["rollback_and_page_dpo"]
    sampler.ingest(0.2, _stats("T", residency_violations=4))
    assert evaluator.evaluate("T", sampler, 0.2, 0.999)[1] == []


def test_a_region_missing_from_one_tick_does_not_reset_the_lag_window() -> None:
    """A slow stats answer is unknown lag, not zero lag: the sustained window keeps running."""
    sampler, evaluator = Sampler(100.0, lag_carry_seconds=0.5), TripwireEvaluator(time_scale=600)
    fired_at = None
    for step in range(30):
        now = 1000.0 + step * 0.1
        stats = [] if step % 4 == 3 else _stats("T", lag=0.2)  # every 4th tick times out
        sampler.ingest(now, stats)
        _, firings = evaluator.evaluate("T", sampler, now, 0.999)
        if firings:
            fired_at = now
            break
    assert fired_at is not None
    assert 1.0 <= fired_at - 1000.0 < 1.2


def test_a_region_silent_past_the_carry_no_longer_counts() -> None:
    sampler = Sampler(100.0, lag_carry_seconds=0.5)
    sampler.ingest(0.0, _stats("T", lag=0.2))
    sampler.ingest(0.4, [])
    latest = sampler.latest("T")
    assert latest is not None
    assert latest.lag_seconds == 0.2
    sampler.ingest(0.6, [])
    latest = sampler.latest("T")
    assert latest is not None
    assert latest.lag_seconds == 0.0


def test_one_stray_conflict_in_a_small_window_does_not_roll_back() -> None:
    """2 counted conflicts (one conflict, both sides) in 150 writes is 1.3%, but a single
    event is not a conflict-rate breach; a storm of them is."""
    sampler, evaluator = Sampler(100.0), TripwireEvaluator(time_scale=600)
    sampler.ingest(0.0, _stats("T", writes=0, conflicts=0))
    sampler.ingest(0.5, _stats("T", writes=150, conflicts=2))
    assert evaluator.evaluate("T", sampler, 0.5, 0.999)[1] == []
    sampler.ingest(0.6, _stats("T", writes=300, conflicts=40))
    [firing] = evaluator.evaluate("T", sampler, 0.6, 0.999)[1]
    assert firing.action == "rollback_to_ap"
