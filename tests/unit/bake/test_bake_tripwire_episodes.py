"""Tripwire episodes judged whole across a bake's slice watches: a crossing near a slice's end
whose action comes in the next slice passes, one whose action never comes fails at its
deadline, and an action between two watches is still seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_mc.bake.tripwires import TRIPWIRE_GRACE_PLAN_SECONDS, TripwireEpisodes
from pytest_mc.drivers.tripwire_watch import TripwireSighting, TripwireWatch, WatchReport
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import TripwireObservation
from pytest_mc.metrics.source import MetricQuery, MetricSource
from pytest_mc.policy.catalog import QiCatalog, load_catalog
from pytest_mc.policy.verdict import Verdict

QI = "tripwire_conflict_rate"  # action rollback_to_ap: the tenant_active_passive effect
TIME_SCALE = 60.0
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class CapturingRecorder(EvidenceRecorder):
    def __init__(self, tmp_path: Path, catalog: QiCatalog) -> None:
        super().__init__(EvidencePaths(tmp_path, "v-test"), catalog, writer="bake", durable=False)
        self.observations: list[TripwireObservation] = []

    def tripwire(self, *args: Any, **kwargs: Any) -> TripwireObservation:
        observation = super().tripwire(*args, **kwargs)
        self.observations.append(observation)
        return observation


@pytest.fixture
def catalog() -> QiCatalog:
    return load_catalog()


@pytest.fixture
def recorder(tmp_path: Path, catalog: QiCatalog) -> CapturingRecorder:
    return CapturingRecorder(tmp_path, catalog)


def _episodes(recorder: CapturingRecorder, catalog: QiCatalog) -> TripwireEpisodes:
    return TripwireEpisodes(
        recorder, catalog, tenant="T1", bake_id="b1", time_scale=TIME_SCALE, note=lambda _: None
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _report(
    start_s: float,
    stop_s: float,
    *,
    crossing_s: float | None = None,
    action_s: float | None = None,
    active_active_before: float = 1.0,
) -> WatchReport:
    sighting = TripwireSighting(
        qi_id=QI,
        condition_first_seen_at=None if crossing_s is None else at(crossing_s),
        condition_last_seen_at=None if crossing_s is None else at(stop_s),
        peak_value=None if crossing_s is None else 0.004,
        points=(),
    )
    return WatchReport(
        tenant="T1",
        started_at=at(start_s),
        stopped_at=at(stop_s),
        samples=10,
        tripwires={QI: sighting},
        effects_first_seen_at={} if action_s is None else {"tenant_active_passive": at(action_s)},
        effect_baselines={"tenant_active_passive": active_active_before, "dpo_paged": 3.0},
    )


def _deadline_wall(catalog: QiCatalog) -> float:
    return ((catalog.get(QI).window_seconds or 0.0) + TRIPWIRE_GRACE_PLAN_SECONDS) / TIME_SCALE


def test_a_crossing_at_a_slice_end_is_judged_on_the_next_slice_action(
    recorder: CapturingRecorder, catalog: QiCatalog
) -> None:
    episodes = _episodes(recorder, catalog)
    assert episodes.judge(_report(0, 10, crossing_s=9.5)) == []
    assert recorder.observations == []
    assert QI in episodes.open
    # the next watch compares the A/A flag against its value from before the crossing
    assert episodes.carried_baselines() == {"tenant_active_passive": 1.0}

    assert episodes.judge(_report(10.5, 20, crossing_s=10.5, action_s=12.0)) == []
    (observation,) = recorder.observations
    assert observation.verdict is Verdict.PASS
    assert observation.condition_seen_at == T0 + timedelta(seconds=9.5)  # the first crossing
    assert observation.time_to_action_seconds == pytest.approx(2.5 * TIME_SCALE)
    assert episodes.open == {}
    assert episodes.carried_baselines() == {}


def test_an_action_that_never_comes_fails_once_the_deadline_passes(
    recorder: CapturingRecorder, catalog: QiCatalog
) -> None:
    episodes = _episodes(recorder, catalog)
    deadline = _deadline_wall(catalog)
    assert episodes.judge(_report(0, 10, crossing_s=9.0)) == []
    failures = episodes.judge(_report(10, 9.0 + deadline + 0.5, crossing_s=10.0))
    assert failures == [f"tripwire {QI}: action rollback_to_ap not seen in time"]
    (observation,) = recorder.observations
    assert (observation.verdict, observation.action_observed) == (Verdict.FAIL, None)


def test_an_action_later_than_the_deadline_fails(
    recorder: CapturingRecorder, catalog: QiCatalog
) -> None:
    episodes = _episodes(recorder, catalog)
    late = 9.0 + _deadline_wall(catalog) + 1.0
    assert episodes.judge(_report(0, 10, crossing_s=9.0)) == []
    assert episodes.judge(_report(10, late + 1, crossing_s=10.0, action_s=late)) != []
    assert recorder.observations[0].verdict is Verdict.FAIL


def test_the_final_judgement_leaves_no_episode_open(
    recorder: CapturingRecorder, catalog: QiCatalog
) -> None:
    episodes = _episodes(recorder, catalog)
    episodes.judge(_report(0, 10, crossing_s=9.0))
    assert episodes.judge(_report(10, 11), final=True) != []
    assert episodes.open == {}
    assert recorder.observations[0].verdict is Verdict.FAIL


def test_a_judged_episode_still_holding_is_not_recorded_again(
    recorder: CapturingRecorder, catalog: QiCatalog
) -> None:
    episodes = _episodes(recorder, catalog)
    assert episodes.judge(_report(0, 10, crossing_s=2.0, action_s=3.0)) == []
    assert episodes.judge(_report(10, 20, crossing_s=10.0)) == []  # same episode, still high
    assert len(recorder.observations) == 1
    # once it has cleared, a new crossing is a new episode
    episodes.judge(_report(20, 30))
    episodes.judge(_report(30, 40, crossing_s=31.0, action_s=32.0))
    assert len(recorder.observations) == 2


def already_rolled_back(query: MetricQuery) -> float | None:
    """The A/A flag reads 0 (already rolled back) from the first sample; nothing else."""
    return 0.0 if query.metric == "mc_tenant_active_active" else None


@pytest.mark.parametrize(("carried", "seen"), [({"tenant_active_passive": 1.0}, True), ({}, False)])
def test_a_rollback_between_two_watches_is_seen_only_with_the_carried_baseline(
    catalog: QiCatalog,
    carried: dict[str, float | None],
    seen: bool,
    answering_source: Callable[..., MetricSource],
) -> None:
    watch = TripwireWatch(
        answering_source(already_rolled_back),
        catalog,
        "T1",
        time_scale=TIME_SCALE,
        interval_seconds=0.01,
        effect_baselines=carried,
    ).start()
    time.sleep(0.1)
    report = watch.stop()
    assert (report.action_observed_at("rollback_to_ap") is not None) is seen
    assert watch.action_seen("rollback_to_ap") is seen
