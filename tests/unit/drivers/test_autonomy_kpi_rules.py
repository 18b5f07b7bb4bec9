"""The pilot's KPI rules: derived rows from a base, drift spread, campaign size, counts."""

from __future__ import annotations

import itertools

import pytest

from pytest_mc.drivers.autonomy_campaign import (
    CampaignResult,
    Cycle,
    cycles_for_conclusive_kpis,
    drift_cycles,
)
from pytest_mc.drivers.derived_data import DerivedCheck, derive
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.policy.verdict import Ratio, Verdict, judge
from pytest_mc.steps.autonomy import forged


def test_derive_counts_entities_and_utf8_bytes_per_key_category() -> None:
    rows = derive({"orders:1": "abc", "orders:2": "é", "plain": "xy", "a:b:c": ""})
    assert rows == {
        "count:a": "1",
        "bytes:a": "0",
        "count:default": "1",
        "bytes:default": "2",
        "count:orders": "2",
        "bytes:orders": "5",
    }
    assert derive({}) == {}


def test_a_check_names_every_wrong_missing_or_extra_row() -> None:
    check = DerivedCheck(
        region="eu-west",
        expected={"count:x": "2", "bytes:x": "7"},
        actual={"count:x": "2", "bytes:x": "7-drift", "count:drift": "1"},
    )
    assert check.wrong_rows == ("bytes:x", "count:drift")
    assert not check.correct
    assert "bytes:x is '7-drift', base implies '7'" in check.describe()
    assert DerivedCheck(region="r", expected={"a": "1"}, actual={"a": "1"}).correct


@pytest.mark.parametrize(
    ("cycles", "share", "count"), [(10, 0.02, 1), (100, 0.02, 2), (2995, 0.02, 60), (5, 1.0, 5)]
)
def test_drift_goes_to_the_share_of_cycles_at_least_one_spread_out(
    cycles: int, share: float, count: int
) -> None:
    chosen = drift_cycles(cycles, share)
    assert len(chosen) == count
    assert all(0 <= index < cycles for index in chosen)
    if count > 1:
        ordered = sorted(chosen)
        gaps = {b - a for a, b in itertools.pairwise(ordered)}
        assert max(gaps) - min(gaps) <= 1
    assert drift_cycles(cycles, 0.0) == frozenset()


def test_the_campaign_size_is_what_the_catalog_needs_for_every_rate_kpi() -> None:
    catalog = load_catalog()
    needed = cycles_for_conclusive_kpis(catalog)
    assert needed == 2995
    for qi_id in ("autonomy_success_rate", "sim_false_negative_rate"):
        clean = Ratio(events=needed if qi_id == "autonomy_success_rate" else 0, trials=needed)
        assert judge(catalog.get(qi_id), clean).verdict == Verdict.PASS
        short = Ratio(
            events=needed - 1 if qi_id == "autonomy_success_rate" else 0, trials=needed - 1
        )
        assert judge(catalog.get(qi_id), short).verdict == Verdict.INCONCLUSIVE


def _cycle(index: int, **fields: object) -> Cycle:
    base: dict[str, object] = {
        "index": index,
        "drift_injected": False,
        "simulated": True,
        "success": True,
        "false_negative": False,
        "wall_seconds": 1.0,
    }
    return Cycle.model_validate({**base, **fields})


def test_campaign_counts_feed_the_three_rates() -> None:
    result = CampaignResult(
        tenant="T",
        channel="control API",
        drift_share=0.02,
        started_at=0.0,
        finished_at=4.0,
        cycles=(
            _cycle(0),
            _cycle(1, drift_injected=True, outcome="aborted", abort_reason="drift"),
            _cycle(2, success=False, false_negative=True, compensated=True, detail="wrong"),
            _cycle(3, simulated=False, success=False, detail="simulation failed"),
        ),
    )
    assert result.successes == Ratio(events=2, trials=4)
    assert result.compensations == Ratio(events=1, trials=4)
    assert result.false_negatives == Ratio(events=1, trials=3)
    assert result.drift_cycles == 1
    assert result.cycles_per_second() == 1.0
    assert [c.index for c in result.failures()] == [2, 3]


def test_a_forged_token_differs_only_in_its_signature() -> None:
    token = "mcat1.cGF5bG9hZA.c2lnbmF0dXJl"
    changed = forged(token)
    assert changed != token
    assert changed.rsplit(".", 1)[0] == token.rsplit(".", 1)[0]
    assert len(changed) == len(token)
    assert sum(a != b for a, b in zip(changed, token, strict=True)) == 1
