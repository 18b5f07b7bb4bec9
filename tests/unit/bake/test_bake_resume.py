"""Bake planning (slices, days, refusals) and resume planning from a verified chain."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from bake_records import PLAN, TENANT, checkpoint, day, event

from pytest_mc.bake.plan import make_plan, resume_point
from pytest_mc.errors import InputError
from pytest_mc.evidence.chain import EvidenceChain, read_chain, verify_chain
from pytest_mc.evidence.records import RecordBody
from pytest_mc.policy.catalog import load_catalog

CATALOG = load_catalog()


def _chain(tmp_path: Path, bodies: Sequence[RecordBody]) -> list:
    path = tmp_path / "chain.jsonl"
    with EvidenceChain(path, writer="test", durable=False) as chain:
        for body in bodies:
            chain.append(body)
    return verify_chain(read_chain(path).records, where=path.name)


def test_default_bake_is_the_catalogs_24h_in_hourly_slices_with_one_day() -> None:
    plan = make_plan(CATALOG, time_scale=1.0, sample_interval_seconds=15.0)
    assert (plan.duration_plan_seconds, plan.slices, plan.days) == (86_400.0, 24, 1)
    assert not plan.rehearsal


def test_a_compressed_day_or_scale_or_short_bake_is_a_rehearsal() -> None:
    days = make_plan(
        CATALOG, time_scale=600.0, sample_interval_seconds=0.1, days=14, day_plan_seconds=1800.0
    )
    assert (days.slices, days.days, days.slice_plan_seconds) == (14, 14, 1800.0)
    assert days.rehearsal
    short = make_plan(
        CATALOG, time_scale=1.0, sample_interval_seconds=15.0, duration_plan_seconds=7200.0
    )
    assert short.rehearsal
    assert short.days == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"duration_plan_seconds": 5400.0},
            "--duration 1h30m is not a whole number of 1h slices",
        ),
        (
            {"days": 2, "duration_plan_seconds": 3600.0},
            "--duration 1h contradicts --days 2 of 24h (2d); give one",
        ),
        (
            {"day_plan_seconds": 5400.0, "slice_plan_seconds": 3600.0},
            "a day of 1h30m is not a whole number of 1h slices",
        ),
        ({"slice_plan_seconds": 60.0}, "window 1m of a bake slice (--slice) is 0.1s wall"),
    ],
)
def test_inconsistent_plans_are_refused_with_one_line(
    options: dict[str, float], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        make_plan(CATALOG, time_scale=600.0, sample_interval_seconds=0.1, **options)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_resume_continues_after_the_last_checkpoint_of_the_latest_bake(tmp_path: Path) -> None:
    records = _chain(
        tmp_path,
        [
            event("started", bake_id="old"),
            checkpoint(0, bake_id="old"),
            event("finished", bake_id="old"),
            event("started", bake_id="other", tenant="TENANT_005"),
            event("started"),
            checkpoint(0),
            checkpoint(1),
            day(0, bake_id="bake-a"),
            checkpoint(2),
            checkpoint(0, bake_id="other", tenant="TENANT_005"),
        ],
    )
    point = resume_point(records, tenant=TENANT, where="chain.jsonl")
    assert point.bake_id == "bake-a"
    assert point.plan == PLAN
    assert point.next_slice == 3
    assert point.judged_days == {0}
    assert [c.slice_index for c in point.pending] == [2]
    assert point.totals.slices == 3
    assert point.totals.max_lag_seconds == 4.0


def test_a_crash_between_the_last_slice_and_its_day_leaves_that_day_pending(
    tmp_path: Path,
) -> None:
    records = _chain(tmp_path, [event("started"), checkpoint(0), checkpoint(1)])
    point = resume_point(records, tenant=TENANT, where="chain.jsonl")
    assert point.next_slice == 2
    assert not point.judged_days
    assert [c.slice_index for c in point.pending] == [0, 1]


def test_resume_refuses_a_finished_bake(tmp_path: Path) -> None:
    records = _chain(tmp_path, [event("started"), checkpoint(0), event("finished")])
    with pytest.raises(
        InputError, match=r"bake bake-a of tenant TENANT_004 in chain\.jsonl already finished"
    ):
        resume_point(records, tenant=TENANT, where="chain.jsonl")


def test_resume_refuses_a_chain_without_a_bake_of_the_tenant(tmp_path: Path) -> None:
    records = _chain(tmp_path, [event("started", tenant="TENANT_005")])
    with pytest.raises(InputError, match="holds no bake of tenant TENANT_004 to resume"):
        resume_point(records, tenant=TENANT, where="chain.jsonl")


@pytest.mark.parametrize(("indices", "problem"), [((0, 1, 1), "repeats"), ((0, 2), "skips")])
def test_resume_refuses_checkpoints_that_repeat_or_skip_a_slice(
    tmp_path: Path, indices: tuple[int, ...], problem: str
) -> None:
    records = _chain(tmp_path, [event("started"), *(checkpoint(i) for i in indices)])
    with pytest.raises(InputError, match=f"checkpoint of slice {indices[-1]} {problem} a slice"):
        resume_point(records, tenant=TENANT, where="chain.jsonl")
