"""The verdict engine: exact Clopper–Pearson bounds, three-valued verdicts and tripwires."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError
from scipy.stats import binom

from pytest_mc.errors import InputError
from pytest_mc.policy.catalog import QiCatalog, QiDefinition, load_catalog
from pytest_mc.policy.verdict import (
    Judgement,
    Ratio,
    Verdict,
    judge,
    lower_bound,
    upper_bound,
)


@pytest.fixture(scope="module")
def catalog() -> QiCatalog:
    return load_catalog()


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    ("events", "trials", "low", "high"),
    [
        # Published two-sided 95% Clopper–Pearson intervals (= one-sided 97.5% bounds).
        (5, 10, 0.1871, 0.8129),
        (0, 10, 0.0, 0.3085),
        (10, 10, 0.6915, 1.0),
        (1, 20, 0.0013, 0.2487),
    ],
)
def test_bounds_match_published_clopper_pearson_intervals(
    events: int, trials: int, low: float, high: float
) -> None:
    assert lower_bound(events, trials, 0.975) == pytest.approx(low, abs=5e-5)
    assert upper_bound(events, trials, 0.975) == pytest.approx(high, abs=5e-5)


def test_zero_failure_bound_has_its_closed_form() -> None:
    for trials in (1, 10, 2300, 2995, 100_000):
        assert lower_bound(trials, trials, 0.95) == pytest.approx(0.05 ** (1 / trials))
        assert upper_bound(0, trials, 0.95) == pytest.approx(1 - 0.05 ** (1 / trials))
    # The "rule of three": zero events in n trials bound the rate by about 3/n.
    assert upper_bound(0, 3000, 0.95) == pytest.approx(3 / 3000, rel=0.01)


@pytest.mark.parametrize(("events", "trials"), [(1, 50), (7, 200), (993, 1000), (40, 40_000)])
def test_bounds_are_exact_binomial_tails(events: int, trials: int) -> None:
    low = lower_bound(events, trials, 0.95)
    high = upper_bound(events, trials, 0.95)
    # At the lower bound, seeing `events` or more has probability 5%; at the upper, `events`
    # or fewer has probability 5%: the definition of the exact one-sided bounds.
    assert binom.sf(events - 1, trials, low) == pytest.approx(0.05, rel=1e-6)
    assert binom.cdf(events, trials, high) == pytest.approx(0.05, rel=1e-6)
    assert low < events / trials < high


def test_bounds_refuse_impossible_counts() -> None:
    with pytest.raises(InputError, match=r"need 0 <= events <= trials and trials > 0, got 0/0"):
        lower_bound(0, 0)
    with pytest.raises(InputError, match=r"confidence must be between 0 and 1, got 1.5"):
        upper_bound(1, 2, 1.5)


# --------------------------------------------------------------------------- rates


def test_zero_failures_need_about_3000_trials_for_99_9(catalog: QiCatalog) -> None:
    qi = catalog.get("autonomy_success_rate")
    empty = judge(qi, Ratio(events=0, trials=0))
    assert empty.verdict is Verdict.INCONCLUSIVE
    assert empty.more_trials_needed == 2995
    assert judge(qi, Ratio(events=2994, trials=2994)).verdict is Verdict.INCONCLUSIVE
    assert judge(qi, Ratio(events=2995, trials=2995)).verdict is Verdict.PASS
    partial = judge(qi, Ratio(events=2300, trials=2300))
    assert partial.more_trials_needed == 695
    assert partial.reason == (
        "lower 95% bound 0.99870 misses >= 0.999 with 0 failures in 2,300 trials; "
        "695 more clean trials would settle it"
    )
    assert partial.bound == pytest.approx(0.05 ** (1 / 2300))
    assert partial.value == 1.0
    assert (partial.events, partial.trials, partial.confidence) == (2300, 2300, 0.95)


def test_more_trials_needed_is_the_exact_minimum(catalog: QiCatalog) -> None:
    qi = catalog.get("conflict_rate")
    judgement = judge(qi, Ratio(events=3, trials=10_000))
    assert judgement.verdict is Verdict.INCONCLUSIVE
    needed = judgement.more_trials_needed
    assert needed is not None
    # Clean writes add trials, not conflicts: exactly `needed` of them tip the upper bound.
    assert upper_bound(3, 10_000 + needed) <= 0.0005 < upper_bound(3, 10_000 + needed - 1)
    assert judge(qi, Ratio(events=3, trials=10_000 + needed)).verdict is Verdict.PASS
    success = catalog.get("autonomy_success_rate")
    one_failure = judge(success, Ratio(events=4000, trials=4001))
    assert one_failure.verdict is Verdict.INCONCLUSIVE
    extra = one_failure.more_trials_needed
    assert extra is not None
    assert (
        lower_bound(4000 + extra, 4001 + extra) >= 0.999 > lower_bound(3999 + extra, 4000 + extra)
    )


def test_rate_passes_when_the_bound_meets_the_target(catalog: QiCatalog) -> None:
    judgement = judge(catalog.get("conflict_rate"), Ratio(events=0, trials=100_000))
    assert judgement.verdict is Verdict.PASS
    assert judgement.more_trials_needed is None
    assert judgement.reason == (
        "upper 95% bound 0.000030 <= 0.0005 with 0 failures in 100,000 trials"
    )


def test_rate_fails_when_the_point_estimate_misses(catalog: QiCatalog) -> None:
    judgement = judge(catalog.get("autonomy_success_rate"), Ratio(events=2990, trials=3000))
    assert judgement.verdict is Verdict.FAIL
    assert judgement.more_trials_needed is None
    assert judgement.reason == (
        "point estimate 0.99667 misses >= 0.999 with 10 failures in 3,000 trials"
    )


def test_rate_with_no_data_or_zero_volume_is_never_a_pass(catalog: QiCatalog) -> None:
    qi = catalog.get("persisted_only_compliance")
    nothing = judge(qi, None)
    assert nothing.verdict is Verdict.INCONCLUSIVE
    assert nothing.reason == "no data: nothing was measured, which is never a pass"
    zero = judge(qi, Ratio(events=0, trials=0))
    assert zero.verdict is Verdict.INCONCLUSIVE
    assert zero.value is None
    assert zero.reason == (
        "zero volume: 0 trials, which is never a pass; 2,995 clean trials would settle it"
    )


def test_rate_wants_counts_not_a_bare_number(catalog: QiCatalog) -> None:
    with pytest.raises(InputError) as excinfo:
        judge(catalog.get("conflict_rate"), 0.0004)
    assert str(excinfo.value) == (
        "QI 'conflict_rate' is a rate: pass the counts as Ratio(events=..., trials=...), "
        "not the bare number 0.0004, so its confidence bound can be computed"
    )
    with pytest.raises(InputError, match=r"samples=5 disagrees with Ratio.trials=10"):
        judge(catalog.get("conflict_rate"), Ratio(events=0, trials=10), samples=5)


def test_unsettleable_rate_says_so() -> None:
    perfect = QiDefinition(
        id="perfect",
        title="Every request succeeds",
        category="slo",
        kind="rate",
        comparator=">=",
        target=1.0,
        unit="fraction",
        success_is="events",
        plan_section="A.1",
        owner="SRE",
        accountable="MC",
    )
    judgement = judge(perfect, Ratio(events=50, trials=50))
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.more_trials_needed is None
    assert judgement.reason.endswith("; no feasible number of further trials would settle it")


def test_catalog_confidence_is_used() -> None:
    strict = QiDefinition(
        id="strict",
        title="Strict",
        category="slo",
        kind="rate",
        comparator=">=",
        target=0.999,
        unit="fraction",
        confidence=0.99,
        success_is="events",
        plan_section="A.1",
        owner="SRE",
        accountable="MC",
    )
    judgement = judge(strict, Ratio(events=3000, trials=3000))
    assert judgement.verdict is Verdict.INCONCLUSIVE
    assert judgement.confidence == 0.99
    assert judgement.more_trials_needed == math.ceil(math.log(0.01) / math.log(0.999)) - 3000
    assert judgement.reason.startswith("lower 99% bound ")


def test_ratio_validation() -> None:
    with pytest.raises(ValidationError, match=r"events \(5\) cannot exceed trials \(4\)"):
        Ratio(events=5, trials=4)
    with pytest.raises(ValidationError):
        Ratio(events=-1, trials=4)


# --------------------------------------------------------------------------- the conflict band


@pytest.mark.parametrize(
    ("conflicts", "gate", "tripwire"),
    [
        (40, Verdict.INCONCLUSIVE, Verdict.PASS),  # 0.04%: under the gate, bound not tight yet
        (75, Verdict.FAIL, Verdict.PASS),  # 0.075%: the band — gate fails, no tripwire
        (100, Verdict.FAIL, Verdict.PASS),  # exactly 0.1%: tripwire needs MORE than 0.1%
        (150, Verdict.FAIL, Verdict.FAIL),  # 0.15%: gate fails and the tripwire fires
    ],
)
def test_conflict_band_fails_the_gate_without_firing_the_tripwire(
    catalog: QiCatalog, conflicts: int, gate: Verdict, tripwire: Verdict
) -> None:
    observed = Ratio(events=conflicts, trials=100_000)
    assert judge(catalog.get("conflict_rate"), observed).verdict is gate
    assert judge(catalog.get("tripwire_conflict_rate"), observed).verdict is tripwire


def test_tripwire_reasons(catalog: QiCatalog) -> None:
    band = judge(catalog.get("tripwire_conflict_rate"), Ratio(events=75, trials=100_000))
    assert band.reason == (
        "tripwire condition not met: 0.00075 (75 of 100,000), fires at > 0.001; guardrail holds"
    )
    fired = judge(catalog.get("tripwire_conflict_rate"), Ratio(events=150, trials=100_000))
    assert (
        fired.reason == "tripwire condition met: 0.00150 (150 of 100,000) > 0.001 → rollback_to_ap"
    )
    lag = judge(catalog.get("tripwire_replication_lag"), 75)
    assert lag.verdict is Verdict.FAIL
    assert lag.reason == "tripwire condition met: 75 s > 60 (window 10m) → bias_glb"
    residency = judge(catalog.get("tripwire_residency"), 1)
    assert residency.reason == "tripwire condition met: 1 > 0 → rollback_and_page_dpo"


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("qi_id", "value", "verdict"),
    [
        ("replication_lag", 60, Verdict.PASS),
        ("replication_lag", 60.001, Verdict.FAIL),
        ("rpo", 300, Verdict.PASS),
        ("rto", 1800, Verdict.PASS),
        ("rto", 1801, Verdict.FAIL),
        ("budget_utilization", 0.8, Verdict.PASS),
        ("budget_utilization", 0.81, Verdict.FAIL),
        ("privacy_violations", 0, Verdict.PASS),
        ("privacy_violations", 1, Verdict.FAIL),
        ("expansion_green_streak", 14, Verdict.PASS),
        ("expansion_green_streak", 13, Verdict.FAIL),
        ("stage_canary_20", 28_800, Verdict.PASS),
        ("stage_canary_20", 28_799, Verdict.FAIL),
        ("cost_within_budget", 1.0, Verdict.PASS),
        # Tripwires: PASS means the guardrail held (condition not met).
        ("tripwire_error_budget", 0.6, Verdict.PASS),
        ("tripwire_error_budget", 0.5999, Verdict.FAIL),
        ("tripwire_replication_lag", 60, Verdict.PASS),
        ("tripwire_burn_fast", 0.0199, Verdict.PASS),
        ("tripwire_burn_fast", 0.02, Verdict.FAIL),
        ("tripwire_burn_slow", 0.07, Verdict.PASS),  # would fire at the workbook's 5%/6h
        ("tripwire_burn_slow", 0.1, Verdict.FAIL),
        ("tripwire_risk_anomaly", 0, Verdict.PASS),
        ("tripwire_residency_denial", 1, Verdict.FAIL),
    ],
)
def test_boundaries(catalog: QiCatalog, qi_id: str, value: float, verdict: Verdict) -> None:
    assert judge(catalog.get(qi_id), value).verdict is verdict


def test_threshold_reasons_and_fields(catalog: QiCatalog) -> None:
    judgement = judge(catalog.get("replication_lag"), 61.5, samples=120)
    assert judgement == Judgement(
        qi_id="replication_lag",
        verdict=Verdict.FAIL,
        value=61.5,
        unit="seconds",
        comparator="<=",
        threshold=60.0,
        reason="61.50 s misses <= 60",
    )
    assert judge(catalog.get("budget_utilization"), 0.42).reason == "0.420 meets <= 0.8"


@pytest.mark.parametrize(
    "qi_id",
    ["replication_lag", "privacy_violations", "expansion_green_streak", "tripwire_residency"],
)
def test_zero_samples_or_missing_value_is_inconclusive(catalog: QiCatalog, qi_id: str) -> None:
    qi = catalog.get(qi_id)
    zero = judge(qi, 0, samples=0)
    assert zero.verdict is Verdict.INCONCLUSIVE
    assert zero.reason == "zero volume: 0 samples behind the value, which is never a pass"
    assert judge(qi, None).verdict is Verdict.INCONCLUSIVE
    assert judge(qi, float("nan")).verdict is Verdict.INCONCLUSIVE


def test_non_rate_input_errors(catalog: QiCatalog) -> None:
    with pytest.raises(InputError) as excinfo:
        judge(catalog.get("replication_lag"), Ratio(events=1, trials=2))
    assert str(excinfo.value) == (
        "QI 'replication_lag' is measured in seconds, not as a fraction: pass a number, "
        "not Ratio(events=1, trials=2)"
    )
    with pytest.raises(InputError, match=r"samples must be >= 0 for QI 'rpo', got -1"):
        judge(catalog.get("rpo"), 10, samples=-1)
    zero = judge(catalog.get("tripwire_non_persisted"), Ratio(events=0, trials=0))
    assert zero.verdict is Verdict.INCONCLUSIVE


def test_every_catalog_qi_can_be_judged_at_its_target(catalog: QiCatalog) -> None:
    for qi in catalog.qis:
        value: float | Ratio = (
            Ratio(events=1_000_000, trials=1_000_000)
            if qi.kind == "rate" and qi.success_is == "events"
            else Ratio(events=0, trials=1_000_000)
            if qi.kind == "rate"
            else qi.target
        )
        judgement = judge(qi, value)
        assert judgement.qi_id == qi.id
        if qi.kind == "rate":
            assert judgement.verdict is Verdict.PASS, qi.id
        else:
            expected = qi.comparator in ("<=", ">=", "==")
            breached = qi.kind == "tripwire"
            passes = expected != breached
            assert (judgement.verdict is Verdict.PASS) is passes, qi.id
