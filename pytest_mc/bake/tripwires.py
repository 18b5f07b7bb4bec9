"""A bake's tripwire episodes, judged whole even when they straddle slices.

Every slice of a bake runs its own `TripwireWatch`. A condition first seen near a slice's end
may get its action in the next slice, well inside the deadline (the tripwire's window plus the
grace). Judging it when the slice's watch stops would fail a healthy target for the slice
boundary. So an episode whose action is not seen yet and whose deadline has not passed stays
open: the next watch carries the baselines of the action's effects (an action that came between
two watches is still seen) and the episode is judged, from the crossing first seen, as soon as
its action is seen or its deadline passes. After the last slice, `settle` watches on until the
latest open deadline, so every episode gets a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pytest_mc.drivers.tripwire_watch import ACTION_EFFECTS, WatchReport
from pytest_mc.evidence.recorder import EvidenceRecorder
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Verdict

# Plan time an auto-action may take beyond the tripwire's window.
TRIPWIRE_GRACE_PLAN_SECONDS = 600.0


@dataclass(frozen=True)
class OpenEpisode:
    """A crossing the suite saw whose action it has not seen yet, within its deadline."""

    qi_id: str
    condition_seen_at: datetime
    deadline_at: datetime
    peak_value: float | None
    effect_baselines: dict[str, float | None]


class TripwireEpisodes:
    """Judges one tenant's tripwire episodes over a bake's slice watches."""

    def __init__(
        self,
        recorder: EvidenceRecorder,
        catalog: QiCatalog,
        *,
        tenant: str,
        bake_id: str,
        time_scale: float,
        note: Callable[[str], None],
    ) -> None:
        self.recorder = recorder
        self.catalog = catalog
        self.tenant = tenant
        self.bake_id = bake_id
        self.time_scale = time_scale
        self.note = note
        self.open: dict[str, OpenEpisode] = {}
        self.recorded: set[str] = set()  # conditions still holding whose episode is judged

    def deadline_plan_seconds(self, qi_id: str) -> float:
        return (self.catalog.get(qi_id).window_seconds or 0.0) + TRIPWIRE_GRACE_PLAN_SECONDS

    def carried_baselines(self) -> dict[str, float | None]:
        """The effect baselines the next watch must compare against, for the open episodes'
        actions (the baselines from before each crossing)."""
        carried: dict[str, float | None] = {}
        for episode in sorted(self.open.values(), key=lambda e: e.condition_seen_at):
            for effect in ACTION_EFFECTS.get(self.catalog.get(episode.qi_id).action or "", ()):
                carried.setdefault(effect, episode.effect_baselines.get(effect))
        return carried

    def latest_deadline(self) -> datetime | None:
        return max((e.deadline_at for e in self.open.values()), default=None)

    def judge(self, report: WatchReport, *, final: bool = False) -> list[str]:
        """Judge what `report` completes; returns a failure line per tripwire that failed.
        With `final`, every open episode is judged now, seen action or not."""
        failures: list[str] = []
        still_holding: set[str] = set()
        for qi_id, sighting in report.tripwires.items():
            episode = self.open.pop(qi_id, None)
            if episode is None and sighting.condition_first_seen_at is None:
                continue
            qi = self.catalog.get(qi_id)
            action_at = report.action_observed_at(qi.action or "")
            if episode is None and qi_id in self.recorded and action_at is None:
                still_holding.add(qi_id)  # the episode judged in an earlier slice goes on
                continue
            if episode is None:
                assert sighting.condition_first_seen_at is not None
                deadline = self.deadline_plan_seconds(qi_id) / self.time_scale
                episode = OpenEpisode(
                    qi_id=qi_id,
                    condition_seen_at=sighting.condition_first_seen_at,
                    deadline_at=sighting.condition_first_seen_at + timedelta(seconds=deadline),
                    peak_value=sighting.peak_value,
                    effect_baselines=dict(report.effect_baselines),
                )
            else:
                episode = _with_peak(episode, sighting.peak_value, qi.comparator)
            if action_at is None and not final and report.stopped_at < episode.deadline_at:
                self.open[qi_id] = episode
                continue
            if sighting.condition_first_seen_at is not None:
                still_holding.add(qi_id)
            failure = self._record(episode, action_at)
            if failure is not None:
                failures.append(failure)
        self.recorded = still_holding
        return failures

    def _record(self, episode: OpenEpisode, action_at: datetime | None) -> str | None:
        qi = self.catalog.get(episode.qi_id)
        peak = "n/a" if episode.peak_value is None else f"{episode.peak_value:g}"
        observation = self.recorder.tripwire(
            qi.id,
            tenant=self.tenant,
            condition=(
                f"{qi.title}: {qi.comparator} {qi.target:g} {qi.unit} "
                f"(peak {peak}) during bake {self.bake_id}"
            ),
            condition_seen_at=episode.condition_seen_at,
            action_observed=qi.action if action_at is not None else None,
            action_observed_at=action_at,
            deadline_seconds=self.deadline_plan_seconds(qi.id),
            time_scale=self.time_scale,
        )
        self.note(f"tripwire {qi.id}: {observation.verdict.value}")
        if observation.verdict is Verdict.PASS:
            return None
        return f"tripwire {qi.id}: action {qi.action} not seen in time"

    def wall_seconds_to_latest_deadline(self) -> float:
        latest = self.latest_deadline()
        if latest is None:
            return 0.0
        return max(0.0, (latest - datetime.now(UTC)).total_seconds())


def _with_peak(episode: OpenEpisode, peak: float | None, comparator: str) -> OpenEpisode:
    if peak is None or episode.peak_value is None:
        value = peak if episode.peak_value is None else episode.peak_value
    elif comparator in ("<", "<="):
        value = min(peak, episode.peak_value)
    else:
        value = max(peak, episode.peak_value)
    return OpenEpisode(
        qi_id=episode.qi_id,
        condition_seen_at=episode.condition_seen_at,
        deadline_at=episode.deadline_at,
        peak_value=value,
        effect_baselines=episode.effect_baselines,
    )
