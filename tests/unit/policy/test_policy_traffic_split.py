"""The split check: an exact two-sided binomial test of a region's share against its weight."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from pytest_mc.errors import InputError
from pytest_mc.policy.traffic_split import (
    SPLIT_CONFIDENCE,
    SPLIT_SAMPLE_REQUESTS,
    interval,
    judge_split,
    rejection_probability,
)


@pytest.mark.parametrize(("served", "requests"), [(0, 400), (80, 400), (200, 400), (399, 400)])
def test_the_interval_is_scipys_exact_clopper_pearson_interval(served: int, requests: int) -> None:
    lower, upper = interval(served, requests, 0.99)
    ci = binomtest(served, requests).proportion_ci(confidence_level=0.99, method="exact")
    assert lower == pytest.approx(ci.low, abs=1e-12)
    assert upper == pytest.approx(ci.high, abs=1e-12)


def test_a_share_near_its_weight_is_consistent() -> None:
    check = judge_split("eu-central", 0.2, 86, 400)
    assert check.consistent
    assert check.describe() == (
        "eu-central served 86 of 400 responses (21.5%); weight 20% is inside the exact 99.9% "
        f"interval [{check.lower:.1%}, {check.upper:.1%}]"
    )


def test_the_previous_stages_share_fails_the_next_stages_weight() -> None:
    # routing left at canary-20 while the target says canary-50
    check = judge_split("eu-central", 0.5, 81, 400)
    assert not check.consistent
    assert "weight 50% is outside" in check.describe()


def test_a_single_stray_request_fails_a_weight_of_one_or_zero() -> None:
    assert judge_split("eu-west", 1.0, 400, 400).consistent
    assert not judge_split("eu-west", 1.0, 399, 400).consistent
    assert judge_split("eu-central", 0.0, 0, 400).consistent
    assert not judge_split("eu-central", 0.0, 1, 400).consistent


def test_a_correct_weight_fails_at_most_one_check_in_a_thousand() -> None:
    for weight in (0.2, 0.5):
        size = rejection_probability(weight, weight)
        assert 0.0 < size <= 1.0 - SPLIT_CONFIDENCE


@pytest.mark.parametrize(("weight", "true_share"), [(0.2, 0.35), (0.5, 0.35), (0.5, 0.65)])
def test_the_sample_size_detects_a_share_off_by_fifteen_points(
    weight: float, true_share: float
) -> None:
    assert rejection_probability(weight, true_share, SPLIT_SAMPLE_REQUESTS) > 0.99


def test_bad_weights_and_confidences_are_refused() -> None:
    with pytest.raises(InputError, match="weight of eu-west must be a share between 0 and 1"):
        judge_split("eu-west", 20.0, 80, 400)
    with pytest.raises(InputError, match="confidence must be between 0 and 1"):
        interval(80, 400, 1.0)
    with pytest.raises(InputError, match="need 0 <= events <= trials"):
        judge_split("eu-west", 0.2, 1, 0)
