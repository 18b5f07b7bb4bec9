"""The green streak is computed from day verdicts: resets on a red day, breaks on a missing
day, never joins days of different lengths, and carries the rehearsal label into the bundle."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bake_records import TENANT, day

from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import RunFinished, RunStarted, TargetInfo
from pytest_mc.evidence.signing import load_signing_key
from pytest_mc.evidence.streak import compute_streak
from pytest_mc.policy.catalog import catalog_reference, load_catalog
from pytest_mc.policy.verdict import Verdict


def test_fourteen_consecutive_green_days_make_a_fourteen_day_streak() -> None:
    streak = compute_streak(TENANT, [day(i) for i in range(14)])
    assert (streak.current_days, streak.longest_days, streak.days_judged) == (14, 14, 14)
    assert streak.broken_by is None
    assert streak.latest_day is not None
    assert streak.latest_day.day_index == 13


def test_a_red_day_resets_the_streak_to_zero() -> None:
    days = [day(0), day(1), day(2), day(3, green=False), day(4), day(5)]
    streak = compute_streak(TENANT, days)
    assert (streak.current_days, streak.longest_days) == (2, 3)
    assert streak.broken_by is not None
    assert "day 3 of bake bake-a was not green: slo fail (slo fail)" in streak.broken_by


def test_a_red_last_day_leaves_a_zero_streak() -> None:
    streak = compute_streak(TENANT, [day(0), day(1, green=False)])
    assert streak.current_days == 0


def test_a_missing_day_number_breaks_the_streak() -> None:
    streak = compute_streak(TENANT, [day(0), day(1), day(3)])
    assert (streak.current_days, streak.longest_days) == (1, 2)
    assert streak.broken_by == "day 2 of bake bake-a is missing"


def test_a_whole_unobserved_day_between_bakes_breaks_the_streak() -> None:
    first = day(0, bake_id="monday")
    late = day(0, bake_id="wednesday", start=first.ended_at + timedelta(days=1))
    streak = compute_streak(TENANT, [first, late])
    assert streak.current_days == 1
    assert streak.broken_by is not None
    assert "a day is missing" in streak.broken_by


def test_daily_bakes_a_few_minutes_apart_continue_one_streak() -> None:
    first = day(0, bake_id="monday")
    second = day(0, bake_id="tuesday", start=first.ended_at + timedelta(minutes=20))
    assert compute_streak(TENANT, [first, second]).current_days == 2


def test_days_of_another_length_or_scale_never_extend_a_streak() -> None:
    real = day(0, bake_id="real")
    compressed = day(
        0, bake_id="rehearsal", day_seconds=1800.0, time_scale=600.0, start=real.ended_at
    )
    streak = compute_streak(TENANT, [real, compressed])
    assert streak.current_days == 1
    assert streak.broken_by is not None
    assert "never join one streak" in streak.broken_by


def test_other_tenants_and_repeated_days_are_not_counted() -> None:
    days = [day(0), day(0), day(1, tenant="TENANT_005", green=False), day(1)]
    streak = compute_streak(TENANT, days)
    assert (streak.current_days, streak.days_judged) == (2, 2)


def test_rehearsal_days_label_the_streak_and_the_bundle_never_satisfies_the_dod(
    tmp_path: Path,
) -> None:
    catalog = load_catalog()
    paths = EvidencePaths(tmp_path, "v-test")
    recorder = EvidenceRecorder(paths, catalog, writer="bake")
    recorder.record(
        RunStarted(
            run_id="r1",
            release="v-test",
            target=TargetInfo(name="ref", environment="staging", time_scale=600.0),
            rehearsal=True,
            catalog=catalog_reference(catalog),
            suite_version="test",
        )
    )
    for index in range(14):
        recorder.record(day(index, day_seconds=1800.0, time_scale=600.0, rehearsal=True))
    recorder.measure("expansion_green_streak", 14, tenant=TENANT, source="test", samples=14)
    recorder.record(RunFinished(run_id="r1", exit_status=0, scenarios=14, failed=0))
    recorder.close()
    bundle = publish(paths.chain, paths.bundle, catalog, load_signing_key(None), release="v-test")
    section = bundle.tenants[TENANT]
    assert len(section.days) == 14
    assert section.streak is not None
    assert section.streak.current_days == 14
    assert section.streak.rehearsal
    row = next(r for r in bundle.dod if r.qi_id == "expansion_green_streak")
    assert row.verdict is Verdict.PASS
    assert row.rehearsal
    assert not row.satisfied
