"""Numbers stated in features are checked against the catalog, never trusted."""

from __future__ import annotations

import pytest

from pytest_mc.errors import InputError
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.policy.crosscheck import StatedNumberMismatch, check_stated, describe_target

CATALOG = load_catalog()


@pytest.mark.parametrize(
    ("qi_id", "text"),
    [
        ("replication_lag", "1m"),
        ("replication_lag", "60s"),
        ("rpo", "5m"),
        ("rto", "30m"),
        ("conflict_rate", "0.05%"),
        ("persisted_only_compliance", "99.9%"),
        ("budget_utilization", "80%"),
        ("privacy_violations", "0"),
        ("tripwire_error_budget", "60%"),
        ("tripwire_burn_slow", "10%"),
        ("expansion_green_streak", "14 days"),
    ],
)
def test_numbers_the_plan_writes_match_the_catalog(qi_id: str, text: str) -> None:
    qi = CATALOG.get(qi_id)
    assert check_stated(qi, text) == qi.target


def test_a_drifted_feature_number_is_refused_naming_both_values() -> None:
    with pytest.raises(StatedNumberMismatch) as caught:
        check_stated(CATALOG.get("conflict_rate"), "0.1%", where="rollout.feature:12")
    assert str(caught.value) == (
        "rollout.feature:12 states '0.1%' for conflict_rate, but the QI catalog says <= 0.05%; "
        "fix the feature (the catalog is frozen)"
    )


def test_a_duration_in_the_wrong_unit_is_refused() -> None:
    with pytest.raises(StatedNumberMismatch, match="says <= 1m"):
        check_stated(CATALOG.get("replication_lag"), "10m")


def test_unreadable_text_says_how_to_write_it() -> None:
    with pytest.raises(InputError, match=r"write it like '99\.9%' or '0\.05%'"):
        check_stated(CATALOG.get("conflict_rate"), "tiny")


def test_targets_are_described_as_the_plan_writes_them() -> None:
    assert describe_target(CATALOG.get("tripwire_replication_lag")) == "1m"
    assert describe_target(CATALOG.get("persisted_only_compliance")) == "99.9%"
    assert describe_target(CATALOG.get("expansion_green_streak")) == "14 days"
