"""The bake: one tenant under k6 load for the plan's 24h, slice by slice, judged as it goes.

`run_bake` records into the release's evidence chain: its own `run_started`, a `bake_event`
(started or resumed), per slice the gate measurements (lag, conflicts, privacy violations,
cost budget), any tripwire the watch saw, and a `bake_checkpoint`; per whole day a
`day_verdict` and the green streak recomputed from the record; at the end the bake-wide gates
and `stage_bake`, a `bake_event` finished (or interrupted), `run_finished`, and the signed
bundle. Everything is appended as it happens: a crash loses at most the slice in flight, and
`--resume` continues after the last checkpoint in the same chain with the same bake id.

SIGTERM and SIGINT stop cleanly: the slice in flight is abandoned (it gets no checkpoint, so
a resume runs it again), k6 is stopped, the interruption is recorded and the bundle signed.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Literal, Protocol

from pytest_mc.bake.gates import (
    TenantQueries,
    category,
    conflict_ratio,
    measure_slice,
    slo_regressions,
    tenant_queries,
    window_of,
    worst,
)
from pytest_mc.bake.load import BakeLoad, Segment
from pytest_mc.bake.plan import (
    GateTotals,
    ResumePoint,
    day_of,
    resume_point,
    slices_per_day,
)
from pytest_mc.bake.tripwires import TripwireEpisodes
from pytest_mc.drivers.gates import recorded_queries
from pytest_mc.drivers.lag_probe import (
    ROUND_EVERY_WALL_SECONDS,
    BackgroundLagProbe,
    LagObservation,
    hidden_lag,
    judged_lag,
)
from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.drivers.toolchain import head_commit, tool_inventory
from pytest_mc.drivers.tripwire_watch import TripwireWatch
from pytest_mc.errors import InputError, TargetError
from pytest_mc.evidence.chain import iter_validated, parse_body, read_chain
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import (
    BakeCheckpoint,
    BakeEvent,
    BakePlanInfo,
    DayVerdict,
    MeasurementWindow,
    RunFinished,
    RunStarted,
    TargetInfo,
)
from pytest_mc.evidence.redaction import Redactor
from pytest_mc.evidence.signing import load_signing_key
from pytest_mc.evidence.streak import GreenStreak, compute_streak
from pytest_mc.inputs import bounded
from pytest_mc.metrics.evaluator import WindowEvaluator
from pytest_mc.metrics.factory import evaluator_for, open_metric_source, store_for_profile
from pytest_mc.metrics.scrape import ScrapeRecorder, ScrapeSource, closing_sample
from pytest_mc.metrics.source import MetricQuery, MetricSource
from pytest_mc.paths import project_dir
from pytest_mc.policy.catalog import QiCatalog, catalog_reference
from pytest_mc.policy.timewindow import format_duration
from pytest_mc.policy.verdict import Judgement, Verdict, upper_bound
from pytest_mc.target.fence import require_change_allowed
from pytest_mc.target.profile import TargetProfile, Tenant

Outcome = Literal["passed", "failed", "inconclusive", "interrupted"]
WARMUP_TIMEOUT_SECONDS = 60.0
EXIT_CODES: dict[Outcome, int] = {"passed": 0, "failed": 1, "inconclusive": 1, "interrupted": 3}


@dataclass(frozen=True)
class BakeRequest:
    """What `mc-verify bake` was asked to do."""

    tenant: str
    out_dir: Path
    release: str
    plan: BakePlanInfo | None = None  # None with resume: the plan of the bake resumed
    resume: bool = False
    signing_key: Path | None = None
    chaos: tuple[tuple[int, str], ...] = ()  # (slice index, experiment name)
    argv: tuple[str, ...] = ()
    # The QI the plan time it covers is recorded against; None for a GA soak, whose days are
    # judged by the green streak and are no stage bake.
    length_qi: str | None = "stage_bake"


@dataclass(frozen=True)
class LiveGate:
    """One gate's latest value, for the progress display."""

    qi_id: str
    value: float | None
    verdict: Verdict
    shown: str


class Progress(Protocol):
    """What the bake reports while it runs (the CLI draws it with rich)."""

    def started(self, bake_id: str, plan: BakePlanInfo, first_slice: int, resumed: bool) -> None:
        """The bake is about to run its first slice."""

    def slice_started(self, index: int, wall_seconds: float) -> None:
        """Slice `index` began; it lasts `wall_seconds`."""

    def slice_done(self, checkpoint: BakeCheckpoint, gates: tuple[LiveGate, ...]) -> None:
        """Slice checkpointed, with its gates' values."""

    def day_done(self, day: DayVerdict, streak: GreenStreak) -> None:
        """A day was judged."""

    def note(self, text: str) -> None:
        """Anything else worth a line (interruption, tripwire, chaos)."""


@dataclass
class BakeResult:
    """How a bake ended and where its evidence is."""

    bake_id: str
    outcome: Outcome
    exit_code: int
    bundle_path: Path
    slices_done: int
    slices: int
    days_green: int
    days_judged: int
    streak: GreenStreak | None
    rehearsal: bool
    detail: str
    failures: list[str] = field(default_factory=list)


class _Stop:
    """SIGTERM/SIGINT set a flag the bake's waits watch (main thread only)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason: str | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.reason = self.reason or signal.Signals(signum).name
        self.event.set()

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        for sig in previous:
            signal.signal(sig, self.handle)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _tenant(profile: TargetProfile, tenant_id: str) -> Tenant:
    try:
        return profile.tenant(tenant_id)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None


def _read_resume(paths: EvidencePaths, tenant: str, profile: TargetProfile) -> ResumePoint:
    readout = read_chain(paths.chain)
    point = resume_point(
        iter_validated(readout.records, where=paths.chain.name),
        tenant=tenant,
        where=str(paths.chain),
    )
    if point.plan.time_scale != profile.time_scale:
        raise InputError(
            f"bake {point.bake_id} ran at time_scale {point.plan.time_scale:g}, target "
            f"{profile.name!r} runs at {profile.time_scale:g}; resume it against the same "
            f"target, or start a new bake without --resume"
        )
    return point


def recorded_days(chain_path: Path, tenant: str) -> Iterator[DayVerdict]:
    """The tenant's day verdicts in chain order, straight from the record."""
    for fields in read_chain(chain_path).records:
        body = fields.get("body")
        if isinstance(body, dict) and body.get("kind") == "day_verdict":
            parsed = parse_body(body)
            if isinstance(parsed, DayVerdict) and parsed.tenant == tenant:
                yield parsed


class Bake:
    """One run of `mc-verify bake` (a new bake or a resumed one)."""

    def __init__(
        self,
        profile: TargetProfile,
        catalog: QiCatalog,
        request: BakeRequest,
        progress: Progress,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile = profile
        self.catalog = catalog
        self.request = request
        self.progress = progress
        self.clock = clock
        self.tenant = _tenant(profile, request.tenant)
        self.paths = EvidencePaths(request.out_dir, request.release)
        self.redactor = Redactor()
        admin = profile.admin
        if admin is not None and admin.token_file is not None and admin.token_file.is_file():
            self.redactor.register(admin.token_file.read_text())
        self.runner = ToolRunner(self.redactor)
        self.run_id = uuid.uuid4().hex
        self.stop = _Stop()
        self.failures: list[str] = []
        if request.resume:
            self.point = _read_resume(self.paths, request.tenant, profile)
        else:
            if request.plan is None:
                raise InputError("a new bake needs a plan (duration, slices, days)")
            self.point = ResumePoint(
                bake_id=uuid.uuid4().hex[:16],
                plan=request.plan,
                next_slice=0,
                judged_days=set(),
                pending=[],
                totals=GateTotals(),
                days_failed=0,
                resumes=0,
            )
        self.plan = self.point.plan
        self.bake_id = self.point.bake_id
        self.slice_wall = self.plan.slice_plan_seconds / self.plan.time_scale
        for index, _name in request.chaos:
            if not 0 <= index < self.plan.slices:
                raise InputError(
                    f"--chaos slice {index} is outside the bake's slices 0..{self.plan.slices - 1}"
                )
        if request.chaos:
            require_change_allowed(profile, what="chaos experiments during the bake")

    # ------------------------------------------------------------------ the run

    def run(self) -> BakeResult:
        self.paths.out_dir.mkdir(parents=True, exist_ok=True)
        work = self.paths.out_dir / "bake" / self.bake_id
        work.mkdir(parents=True, exist_ok=True)
        recorder = EvidenceRecorder(
            self.paths, self.catalog, writer=f"bake-{self.run_id[:8]}", redactor=self.redactor
        )
        self.recorder = recorder
        self.episodes = TripwireEpisodes(
            recorder,
            self.catalog,
            tenant=self.tenant.id,
            bake_id=self.bake_id,
            time_scale=self.profile.time_scale,
            note=self.progress.note,
        )
        store = store_for_profile(
            self.profile, self.catalog, path=work / f"metrics-{self.run_id}.log"
        )
        source = open_metric_source(self.profile, store)
        evaluator = evaluator_for(self.profile, source)
        load = BakeLoad(
            self.profile, self.catalog, self.tenant.id, work_dir=work, runner=self.runner
        )
        outcome: Outcome = "interrupted"
        detail = ""
        scrape: ScrapeRecorder | None = None
        self._record_start()
        try:
            self._judge_pending_days()
            with self.stop.installed():
                queries = self._warm_up(load, source)
                if isinstance(source, ScrapeSource):
                    scrape = ScrapeRecorder(
                        source,
                        recorded_queries(queries.all),
                        self.profile.metrics.sample_interval_seconds,
                    ).start()
                    # the first window needs samples from before it starts
                    interval = self.profile.metrics.sample_interval_seconds
                    scrape.wait_for_sample(time.time() + 2 * interval)
                self._slices(load, source, evaluator, queries, work, scrape)
                self._settle_tripwires(source)
            if self.point.next_slice >= self.plan.slices:
                outcome, detail = self._finish()
            else:
                detail = f"stopped by {self.stop.reason} during slice {self.point.next_slice}"
        except TargetError as exc:
            detail = f"target problem during slice {self.point.next_slice}: {exc}"
            self.failures.append(detail)
        finally:
            for segment in load.stop():
                self._record_segment(segment)
            if scrape is not None:
                scrape.stop()
            source.close()
            store.close()
        if outcome == "interrupted":
            recorder.record(self._event("interrupted", detail=detail))
        exit_code = EXIT_CODES[outcome]
        if outcome == "interrupted" and self._failed_already():
            exit_code = 1  # a gate or day already failed: the release failed, whatever follows
        recorder.record(
            RunFinished(
                run_id=self.run_id,
                exit_status=exit_code,
                scenarios=self.point.next_slice,
                failed=self.point.totals.failed_gates,
            )
        )
        recorder.close()
        publish(
            self.paths.chain,
            self.paths.bundle,
            self.catalog,
            load_signing_key(self.request.signing_key),
            release=self.request.release,
        )
        streak = compute_streak(self.tenant.id, recorded_days(self.paths.chain, self.tenant.id))
        return BakeResult(
            bake_id=self.bake_id,
            outcome=outcome,
            exit_code=exit_code,
            bundle_path=self.paths.bundle,
            slices_done=self.point.next_slice,
            slices=self.plan.slices,
            days_green=len(self.point.judged_days) - self.point.days_failed,
            days_judged=len(self.point.judged_days),
            streak=streak if streak.days_judged else None,
            rehearsal=self.plan.rehearsal,
            detail=detail,
            failures=self.failures,
        )

    def _failed_already(self) -> bool:
        return bool(self.point.totals.failed_gates or self.point.days_failed or self.failures)

    def _event(
        self,
        event: Literal["started", "resumed", "interrupted", "finished"],
        *,
        outcome: Literal["passed", "failed", "inconclusive"] | None = None,
        detail: str | None = None,
    ) -> BakeEvent:
        return BakeEvent(
            bake_id=self.bake_id,
            run_id=self.run_id,
            tenant=self.tenant.id,
            event=event,
            plan=self.plan,
            next_slice=self.point.next_slice,
            outcome=outcome,
            detail=detail,
        )

    def _record_start(self) -> None:
        root = project_dir("features").parent
        inventory = tool_inventory(self.profile, project_root=root, runner=self.runner)
        self.recorder.record(
            RunStarted(
                run_id=self.run_id,
                release=self.request.release,
                target=TargetInfo(
                    name=self.profile.name,
                    environment=self.profile.environment,
                    glb_url=self.profile.glb_url,
                    time_scale=self.profile.time_scale,
                ),
                rehearsal=self.plan.rehearsal,
                catalog=catalog_reference(self.catalog),
                suite_version=inventory.pytest_mc or "unknown",
                tools=inventory.as_tools_dict(),
                git_commit=head_commit(self.runner, root),
                argv=self.request.argv,
            )
        )
        resumed = self.request.resume
        self.recorder.record(self._event("resumed" if resumed else "started"))
        self.progress.started(self.bake_id, self.plan, self.point.next_slice, resumed)

    def _warm_up(self, load: BakeLoad, source: MetricSource) -> TenantQueries:
        """Start k6 and wait until the tenant's traffic shows in the metrics."""
        # Rate verdicts import scipy, which takes seconds: pay that while k6 starts, before
        # the slice clock runs.
        scipy = threading.Thread(target=upper_bound, args=(0, 1), name="bake-scipy-import")
        scipy.start()
        self._ensure_load(load, self.point.next_slice)
        requests = MetricQuery.of("mc_glb_requests_total", aggregation="sum", tenant=self.tenant.id)
        before = source.sample(requests).single() or 0.0
        deadline = time.monotonic() + WARMUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline and not self.stop.event.is_set():
            if (source.sample(requests).single() or 0.0) > before:
                break
            self.stop.event.wait(self.profile.metrics.sample_interval_seconds)
        else:
            if not self.stop.event.is_set():
                raise TargetError(
                    f"no traffic of {self.tenant.id} reached the target's metrics within "
                    f"{WARMUP_TIMEOUT_SECONDS:g}s of starting k6; check glb_url and metrics"
                )
        scipy.join()
        return tenant_queries(source, self.tenant.id, self.tenant.slo_baseline)

    def _ensure_load(self, load: BakeLoad, index: int) -> None:
        finished = load.ensure(
            index, self.plan.slices - index, self.slice_wall, run_id=self.run_id[:12]
        )
        for segment in finished:
            self._record_segment(segment)

    def _record_segment(self, segment: Segment) -> None:
        result = segment.result
        if result is not None:
            self.recorder.tool_run(
                result.activity,
                tenant=self.tenant.id,
                version=result.binary.version,
                binary_sha256=result.binary.sha256,
            )
        elif segment.error is not None and not segment.stopped_early():
            self.failures.append(f"k6 load on {self.tenant.id} failed: {segment.error}")
            self.progress.note(self.failures[-1])
        if segment.summary_path.is_file():
            self.recorder.attach(
                segment.summary_path,
                name=f"k6-summary-{self.tenant.id}-{segment.run_id}.json",
                kind="k6-summary",
                tenant=self.tenant.id,
            )
        if segment.report_path.is_file():
            self.recorder.attach(
                segment.report_path,
                name=f"k6-report-{self.tenant.id}-{segment.run_id}.html",
                kind="k6-report",
                tenant=self.tenant.id,
            )

    def _slices(
        self,
        load: BakeLoad,
        source: MetricSource,
        evaluator: WindowEvaluator,
        queries: TenantQueries,
        work: Path,
        scrape: ScrapeRecorder | None,
    ) -> None:
        grid = self.clock()
        first = self.point.next_slice
        chaos = dict(self.request.chaos)
        for index in range(first, self.plan.slices):
            if self.stop.event.is_set():
                return
            start = grid + (index - first) * self.slice_wall
            end = start + self.slice_wall
            self._ensure_load(load, index)
            self.progress.slice_started(index, self.slice_wall)
            watch = self._tripwire_watch(source)
            probe = self._lag_probe()
            lag: LagObservation | None = None
            try:
                if index in chaos:
                    self._chaos(chaos[index], work)
                # one sample interval past the end, so the window's last point is in
                wait = end + self.profile.metrics.sample_interval_seconds - self.clock()
                if wait > 0:
                    self.stop.event.wait(wait)
                measured_at = end
                if scrape is not None and not self.stop.event.is_set():
                    measured_at = closing_sample(scrape, end)
            finally:
                self.failures += self.episodes.judge(watch.stop())
                lag = self._stop_lag_probe(probe, index)
            if self.stop.event.is_set():
                self.progress.note(f"slice {index} abandoned: stopped by {self.stop.reason}")
                return
            self._checkpoint(index, evaluator, queries, start, end, measured_at, lag)

    def _chaos(self, experiment: str, work: Path) -> None:
        # chaoslib is slow to import and most bakes run no experiment
        from pytest_mc.drivers.chaos import ChaosInterrupted, run_experiment

        journal = work / f"chaos-{experiment}-{self.run_id[:8]}.json"
        self.progress.note(f"chaos experiment {experiment!r} on {self.tenant.id}")
        try:
            result = run_experiment(
                self.profile,
                experiment,
                journal_path=journal,
                tenant=self.tenant.id,
                configuration={"hold_seconds": self.slice_wall / 2},
                redactor=self.redactor,
            )
        except ChaosInterrupted as exc:
            result = exc.result
            self.stop.reason = self.stop.reason or result.interrupted_by or "SIGINT"
            self.stop.event.set()
        if journal.is_file():
            self.recorder.attach(
                journal,
                name=f"chaos-journal-{experiment}.json",
                kind="chaos-journal",
                tenant=self.tenant.id,
            )
        if not (result.rolled_back and result.steady_state_restored):
            self.failures.append(
                f"chaos experiment {experiment!r}: rolled back {result.rolled_back}, steady "
                f"state restored {result.steady_state_restored}"
            )

    def _lag_probe(self) -> BackgroundLagProbe | None:
        """Rounds of the lag probe's marker writes from the tenant's first region to its
        second for the slice, turning the other way when the first takes none of a round's
        writes (an A/P tenant whose primary is the second; None: a tenant of one region
        replicates nowhere)."""
        regions = self.tenant.regions
        if len(regions) < 2:
            return None
        probe = BackgroundLagProbe(
            self.profile,
            self.tenant.id,
            source=regions[0],
            peer=regions[1],
            every_wall_seconds=ROUND_EVERY_WALL_SECONDS,
        )
        probe.start()
        return probe

    def _stop_lag_probe(
        self, probe: BackgroundLagProbe | None, index: int
    ) -> LagObservation | None:
        """The slice's markers as one observation; a probe that failed fails the bake."""
        if probe is None:
            return None
        try:
            return probe.stop()
        except Exception as exc:  # the slice is judged without it, and the bake fails
            self.failures.append(f"slice {index}: the lag probe failed: {bounded(str(exc))}")
            return None

    def _tripwire_watch(self, source: MetricSource) -> TripwireWatch:
        """A started watch of the tenant's tripwires that carries the open episodes' effect
        baselines, so an action falling between two watches is still seen."""
        return TripwireWatch(
            source,
            self.catalog,
            self.tenant.id,
            time_scale=self.profile.time_scale,
            interval_seconds=self.profile.metrics.sample_interval_seconds,
            effect_baselines=self.episodes.carried_baselines(),
        ).start()

    def _settle_tripwires(self, source: MetricSource) -> None:
        """Watch on after the last slice until every open tripwire episode's deadline, so a
        crossing seen late in the bake is judged on its action too (bounded by the deadline)."""
        wait = self.episodes.wall_seconds_to_latest_deadline()
        if wait <= 0:
            return
        self.progress.note(f"watching {len(self.episodes.open)} open tripwire(s) for {wait:.0f}s")
        watch = self._tripwire_watch(source)
        deadline = time.monotonic() + wait
        try:
            while self.episodes.open and time.monotonic() < deadline:
                if self.stop.event.wait(self.profile.metrics.sample_interval_seconds):
                    break
                if all(
                    watch.action_seen(self.catalog.get(qi_id).action or "")
                    for qi_id in self.episodes.open
                ):
                    break
        finally:
            self.failures += self.episodes.judge(watch.stop(), final=True)

    def _checkpoint(
        self,
        index: int,
        evaluator: WindowEvaluator,
        queries: TenantQueries,
        start: float,
        end: float,
        measured_at: float,
        lag: LagObservation | None,
    ) -> None:
        plan_seconds = self.plan.slice_plan_seconds
        gates, lag_samples = measure_slice(
            evaluator, queries, plan_seconds=plan_seconds, end=measured_at
        )
        window = window_of(plan_seconds, start, end)
        where = f"bake {self.bake_id} slice {index}"
        lag_source = f"{where}: max {queries.lag.promql()} (wall → plan)"
        if lag is not None:
            lag_source += f", judged on the worse of it and the suite's markers ({lag.describe()})"
            hidden = hidden_lag(
                lag,
                gates.max_lag_seconds,
                self.catalog.get("replication_lag").target,
                of="the replication_lag gate",
            )
            if hidden is not None:
                self.failures.append(f"{where}: {hidden}")
            gates = gates.model_copy(
                update={"max_lag_seconds": judged_lag(gates.max_lag_seconds, lag)}
            )
        measure = self.recorder.measure
        tenant = self.tenant.id
        judged = (
            measure(
                "replication_lag",
                gates.max_lag_seconds,
                tenant=tenant,
                source=lag_source,
                window=window,
                samples=lag_samples,
            ),
            measure(
                "conflict_rate",
                conflict_ratio(gates.conflicts, gates.writes),
                tenant=tenant,
                source=(
                    f"{where}: increase {queries.conflicts.promql()} / {queries.writes.promql()}"
                ),
                window=window,
            ),
            measure(
                "privacy_violations",
                gates.privacy_violations,
                tenant=tenant,
                source=f"{where}: increase {queries.violations.promql()}",
                window=window,
                samples=gates.requests,
            ),
            measure(
                "budget_utilization",
                gates.max_budget_consumed,
                tenant=tenant,
                source=f"{where}: max {queries.budget.promql()}",
                window=window,
            ),
        )
        gates = gates.model_copy(update={"verdicts": {j.qi_id: j.verdict for j in judged}})
        checkpoint = BakeCheckpoint(
            bake_id=self.bake_id,
            run_id=self.run_id,
            tenant=tenant,
            slice_index=index,
            slices=self.plan.slices,
            plan_start_seconds=index * plan_seconds,
            plan_end_seconds=(index + 1) * plan_seconds,
            started_at=datetime.fromtimestamp(start, UTC),
            ended_at=datetime.fromtimestamp(end, UTC),
            gates=gates,
            green=all(j.verdict is not Verdict.FAIL for j in judged),
        )
        self.recorder.record(checkpoint)
        self.point.next_slice = index + 1
        self.point.totals.add(gates)
        self.point.pending.append(checkpoint)
        self.progress.slice_done(checkpoint, tuple(_live(j) for j in judged))
        self._judge_pending_days()

    # ------------------------------------------------------------------ days and the end

    def _judge_pending_days(self) -> None:
        """Judge every day whose slices are all checkpointed and which has no verdict yet."""
        per_day = slices_per_day(self.plan)
        while self.point.pending:
            day = day_of(self.plan, self.point.pending[0].slice_index)
            slices = [c for c in self.point.pending if day_of(self.plan, c.slice_index) == day]
            if len(slices) < per_day or day >= self.plan.days:
                return
            if day not in self.point.judged_days:
                self._judge_day(day, slices)
            self.point.pending = [
                c for c in self.point.pending if day_of(self.plan, c.slice_index) != day
            ]

    def _judge_day(self, day: int, slices: list[BakeCheckpoint]) -> None:
        totals = GateTotals()
        for checkpoint in slices:
            totals.add(checkpoint.gates)
        plan = self.plan
        start, end = slices[0].started_at, slices[-1].ended_at
        window = window_of(plan.day_plan_seconds, start.timestamp(), end.timestamp())
        tenant = self.tenant.id
        where = f"bake {self.bake_id} day {day}"
        regressions, slo_detail = slo_regressions(totals, self.tenant.slo_baseline)
        requests = None if "requests" in totals.missing else totals.requests
        slo = self.recorder.measure(
            "slo_regression",
            regressions,
            tenant=tenant,
            source=f"{where}: mc_glb_requests_total 5xx share and latency histogram vs baseline",
            window=window,
            samples=requests,
        )
        budget = None if "max_budget_consumed" in totals.missing else totals.max_budget_consumed
        cost = [
            self.recorder.measure(
                qi_id,
                budget,
                tenant=tenant,
                source=f"{where}: max mc_cost_budget_consumed_ratio",
                window=window,
            )
            for qi_id in ("cost_within_budget", "budget_utilization")
        ]
        violations = None if "privacy_violations" in totals.missing else totals.privacy_violations
        privacy = self.recorder.measure(
            "privacy_incidents",
            violations,
            tenant=tenant,
            source=f"{where}: increase mc_residency_violations_total",
            window=window,
            samples=requests,
        )
        categories = (
            category("slo", [slo], slo_detail),
            category("cost", cost),
            category("privacy", [privacy]),
        )
        green = all(c.verdict is Verdict.PASS for c in categories)
        wall = plan.day_plan_seconds / plan.time_scale
        scale = (
            f"a day is {format_duration(plan.day_plan_seconds)} of plan time at time_scale "
            f"{plan.time_scale:g} ({wall:g}s wall)"
        )
        if plan.rehearsal:
            scale += "; REHEARSAL: compressed time cannot satisfy the GA DoD"
        verdict = DayVerdict(
            bake_id=self.bake_id,
            tenant=tenant,
            day_index=day,
            day_plan_seconds=plan.day_plan_seconds,
            plan_start_seconds=day * plan.day_plan_seconds,
            plan_end_seconds=(day + 1) * plan.day_plan_seconds,
            started_at=start,
            ended_at=end,
            time_scale=plan.time_scale,
            slo=categories[0],
            cost=categories[1],
            privacy=categories[2],
            green=green,
            rehearsal=plan.rehearsal,
            scale=scale,
        )
        self.recorder.record(verdict)
        self.point.judged_days.add(day)
        self.point.days_failed += 0 if green else 1
        # The streak is shown as it builds but measured once, at the end of the bake: a
        # measurement per day would record a "fail" for every day before the 14th.
        streak = compute_streak(tenant, recorded_days(self.paths.chain, tenant))
        self.progress.day_done(verdict, streak)

    def _finish(self) -> tuple[Literal["passed", "failed", "inconclusive"], str]:
        """Bake-wide gates over every slice, `stage_bake`, and the outcome."""
        totals = self.point.totals
        tenant = self.tenant.id
        where = f"bake {self.bake_id}, all {totals.slices} slices"
        whole = MeasurementWindow(plan_seconds=totals.slices * self.plan.slice_plan_seconds)

        def known(name: str, value: int) -> int | None:
            return None if name in totals.missing else value

        judged: list[Judgement] = [
            self.recorder.measure(
                "replication_lag",
                None if "max_lag_seconds" in totals.missing else totals.max_lag_seconds,
                tenant=tenant,
                source=f"{where}: worst slice",
                window=whole,
            ),
            self.recorder.measure(
                "conflict_rate",
                conflict_ratio(
                    known("conflicts", totals.conflicts), known("writes", totals.writes)
                ),
                tenant=tenant,
                source=f"{where}: conflicts and writes summed",
                window=whole,
            ),
            self.recorder.measure(
                "privacy_violations",
                known("privacy_violations", totals.privacy_violations),
                tenant=tenant,
                source=f"{where}: violations summed",
                window=whole,
                samples=known("requests", totals.requests),
            ),
            self.recorder.measure(
                "budget_utilization",
                None if "max_budget_consumed" in totals.missing else totals.max_budget_consumed,
                tenant=tenant,
                source=f"{where}: worst slice",
                window=whole,
            ),
        ]
        if self.request.length_qi is not None:
            judged.append(
                self.recorder.measure(
                    self.request.length_qi,
                    totals.slices * self.plan.slice_plan_seconds,
                    tenant=tenant,
                    source=f"{where}: plan time covered by checkpointed slices",
                    samples=totals.slices,
                )
            )
        target_days = self.catalog.get("expansion_green_streak").target
        if self.plan.days >= target_days:
            streak = compute_streak(tenant, recorded_days(self.paths.chain, tenant))
            judged.append(
                self.recorder.measure(
                    "expansion_green_streak",
                    streak.current_days,
                    tenant=tenant,
                    source=f"{where}: consecutive green day_verdict records of {tenant}",
                    samples=streak.days_judged,
                )
            )
        failed = [f"{j.qi_id}: {j.reason}" for j in judged if j.verdict is Verdict.FAIL]
        failed += [f"{self.point.days_failed} day(s) not green"] if self.point.days_failed else []
        failed += [f"{totals.failed_gates} slice gate(s) failed"] if totals.failed_gates else []
        failed += self.failures
        unsettled = [f"{j.qi_id}: {j.reason}" for j in judged if j.verdict is Verdict.INCONCLUSIVE]
        self.failures = failed
        verdict = worst([j.verdict for j in judged])
        outcome: Literal["passed", "failed", "inconclusive"]
        if failed:
            outcome, detail = "failed", "; ".join(failed)
        elif verdict is Verdict.INCONCLUSIVE:
            outcome, detail = "inconclusive", "; ".join(unsettled)
        else:
            outcome, detail = "passed", "every gate and day green"
        self.recorder.record(self._event("finished", outcome=outcome, detail=detail[:2000]))
        return outcome, detail


def _live(judgement: Judgement) -> LiveGate:
    value = judgement.value
    shown = "n/a" if value is None else f"{value:.4g}"
    return LiveGate(
        qi_id=judgement.qi_id,
        value=value,
        verdict=judgement.verdict,
        shown=f"{shown} {judgement.comparator} {judgement.threshold:g}",
    )


def run_bake(
    profile: TargetProfile, catalog: QiCatalog, request: BakeRequest, progress: Progress
) -> BakeResult:
    """Run (or resume) a bake; input problems raise before anything is recorded."""
    return Bake(profile, catalog, request, progress).run()
