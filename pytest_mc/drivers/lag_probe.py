"""Replication lag as the suite observes it: timestamped marker writes, polled on the peer.

Each marker is written straight to one region of the tenant (the writing region) and read
straight from its peer until the marker's value is there (`regions[].url`, target contract
§3). A marker's lag is bracketed by the probe's own requests: at least the start of the last
read that missed it minus the end of the write, at most the end of the read that found it
minus the start of the write. The width of that bracket is the probe's resolution (poll
interval plus round trips); it is reported with every figure, in wall and in plan seconds
(plan = wall × time scale). `LagComparison` sets the target's own lag metric beside the
observed bracket. The probe is bounded in markers and in wall time and stops by itself.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence

import httpx
from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.drivers.dataplane import DataPlaneClient, QueryAnswer
from pytest_mc.errors import UnreachableError
from pytest_mc.target.profile import TargetProfile

_STRICT = ConfigDict(extra="forbid", frozen=True)

# Markers per probe, and the most a caller may ask for: each costs a write and a few reads.
DEFAULT_MARKERS = 5
MAX_MARKERS = 50
# How often (wall) the peer is read while a marker is outstanding. Fast, because at a time
# scale of 600 every 10 ms of resolution is 6 s of plan time; the round trip adds to it.
DEFAULT_POLL_WALL_SECONDS = 0.01
# How long (wall) one marker may take to reach the peer before it counts as not replicated.
DEFAULT_MARKER_TIMEOUT_WALL_SECONDS = 20.0
# The whole probe's wall-time bound: markers not started by then are not sent.
DEFAULT_PROBE_BUDGET_WALL_SECONDS = 60.0
# How often (wall) a round of markers starts while a stage or a bake slice holds: about ten
# rounds in the shortest stage hold at the rehearsal's time scale, a few requests a second.
ROUND_EVERY_WALL_SECONDS = 5.0
MARKER_PREFIX = "mc-lag"

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class MarkerLag(BaseModel):
    """One marker: when it was written, when the peer was seen without and with it."""

    model_config = _STRICT
    key: str
    value: str = Field(description="the marker's value: the wall clock at the write, as text")
    source: str = Field(description="the region the marker was written to")
    peer: str = Field(description="the region it was read from")
    write: QueryAnswer
    write_started: float = Field(description="monotonic seconds")
    write_ended: float
    polls: int = Field(ge=0, description="reads of the peer for this marker")
    last_miss_started: float | None = Field(
        default=None, description="start of the last read of the peer that did not hold it"
    )
    found_ended: float | None = Field(
        default=None, description="end of the read of the peer that found it; None: timed out"
    )

    @property
    def written(self) -> bool:
        """The writing region took the write itself: a refusal (an A/P tenant's passive side,
        a fault) or a redirect to another region starts no replication from `source`."""
        return _taken_by(self.write, self.source)

    @property
    def replicated(self) -> bool:
        return self.written and self.found_ended is not None

    @property
    def lower_wall_seconds(self) -> float | None:
        """The least the marker's lag can have been (0 when the first read found it)."""
        if not self.replicated:
            return None
        if self.last_miss_started is None:
            return 0.0
        return max(0.0, self.last_miss_started - self.write_ended)

    @property
    def upper_wall_seconds(self) -> float | None:
        """The most the marker's lag can have been."""
        if not self.replicated or self.found_ended is None:
            return None
        return max(0.0, self.found_ended - self.write_started)


class LagObservation(BaseModel):
    """The suite's figure for a tenant's replication lag from `source` to `peer`."""

    model_config = _STRICT
    tenant: str
    source: str = Field(description="the region the markers were written to")
    peer: str = Field(description="the region they were read from")
    time_scale: float = Field(gt=0)
    poll_wall_seconds: float = Field(ge=0)
    markers: tuple[MarkerLag, ...]
    started: float = Field(description="wall clock (time.time) when the probe began")
    ended: float = Field(description="wall clock when it stopped")

    @property
    def replicated(self) -> tuple[MarkerLag, ...]:
        return tuple(m for m in self.markers if m.replicated)

    @property
    def missing(self) -> tuple[MarkerLag, ...]:
        """Markers written but never seen on the peer within their timeout (or refused)."""
        return tuple(m for m in self.markers if not m.replicated)

    @property
    def directions(self) -> str:
        """Where the markers were written and read: "written to A, read on B" (both ways
        when the writing region changed between rounds, after a failover)."""
        pairs = dict.fromkeys((m.source, m.peer) for m in self.markers) or {
            (self.source, self.peer): None
        }
        return " and ".join(f"written to {source}, read on {peer}" for source, peer in pairs)

    @property
    def lower_wall_seconds(self) -> float | None:
        """The worst lag the probe proved: the largest lower bound over its markers."""
        bounds = [m.lower_wall_seconds for m in self.replicated]
        return max((b for b in bounds if b is not None), default=None)

    @property
    def proved_wall_seconds(self) -> float | None:
        """The worst lag the probe proved, counting a marker that never reached the peer too
        (written, and still missing at the start of its last read): the least that lag was."""
        bounds: list[float] = []
        for marker in self.markers:
            if marker.replicated and marker.lower_wall_seconds is not None:
                bounds.append(marker.lower_wall_seconds)
            elif marker.written and marker.last_miss_started is not None:
                bounds.append(max(0.0, marker.last_miss_started - marker.write_ended))
        return max(bounds, default=None)

    @property
    def upper_wall_seconds(self) -> float | None:
        """The worst lag the probe allows: the largest upper bound over its markers."""
        bounds = [m.upper_wall_seconds for m in self.replicated]
        return max((b for b in bounds if b is not None), default=None)

    @property
    def resolution_wall_seconds(self) -> float | None:
        """The widest bracket of any marker: poll interval plus the round trips."""
        widths = [
            (m.upper_wall_seconds or 0.0) - (m.lower_wall_seconds or 0.0) for m in self.replicated
        ]
        return max(widths, default=None)

    def plan(self, wall_seconds: float | None) -> float | None:
        return None if wall_seconds is None else wall_seconds * self.time_scale

    def describe(self) -> str:
        """One line for evidence and failure messages, in plan seconds."""
        lower, upper = self.plan(self.lower_wall_seconds), self.plan(self.upper_wall_seconds)
        resolution = self.plan(self.resolution_wall_seconds)
        seen = f"{len(self.replicated)} of {len(self.markers)} markers"
        untaken = sum(1 for m in self.markers if not m.written)
        if untaken:
            seen += f" ({untaken} not taken by the region written to)"
        if lower is None or upper is None or resolution is None:
            return f"{seen} reached their peer ({self.directions}): no lag observed"
        return (
            f"{lower:.1f}-{upper:.1f} s plan (resolution {resolution:.1f} s plan, "
            f"{self.resolution_wall_seconds or 0.0:.3f} s wall at time scale "
            f"{self.time_scale:g}) over {seen}, {self.directions}"
        )


def probe_lag(
    client: DataPlaneClient,
    tenant: str,
    *,
    source: str,
    peer: str,
    time_scale: float,
    markers: int = DEFAULT_MARKERS,
    poll_wall_seconds: float = DEFAULT_POLL_WALL_SECONDS,
    marker_timeout_wall_seconds: float = DEFAULT_MARKER_TIMEOUT_WALL_SECONDS,
    budget_wall_seconds: float = DEFAULT_PROBE_BUDGET_WALL_SECONDS,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    wall_clock: Clock = time.time,
) -> LagObservation:
    """Write `markers` timestamped markers to `source` one after another and poll `peer`
    for each until it holds the marker's value, its timeout passes, or the probe's budget
    runs out. The writes pass the safety fence (`DataPlaneClient.put`)."""
    if not 1 <= markers <= MAX_MARKERS:
        raise ValueError(f"markers must be 1 to {MAX_MARKERS}, not {markers!r}")
    if source == peer:
        raise ValueError(f"the lag probe needs two regions, not {source!r} twice")
    run = uuid.uuid4().hex[:12]
    started_wall = wall_clock()
    deadline = clock() + budget_wall_seconds
    observed: list[MarkerLag] = []
    for n in range(markers):
        if clock() >= deadline:
            break
        key = f"{MARKER_PREFIX}-{run}-{n}"
        value = f"{MARKER_PREFIX}@{wall_clock():.6f}"
        observed.append(
            _one_marker(
                client,
                tenant,
                key,
                value,
                source=source,
                peer=peer,
                poll_wall_seconds=poll_wall_seconds,
                until=min(deadline, clock() + marker_timeout_wall_seconds),
                clock=clock,
                sleep=sleep,
            )
        )
    return LagObservation(
        tenant=tenant,
        source=source,
        peer=peer,
        time_scale=time_scale,
        poll_wall_seconds=poll_wall_seconds,
        markers=tuple(observed),
        started=started_wall,
        ended=wall_clock(),
    )


def _one_marker(
    client: DataPlaneClient,
    tenant: str,
    key: str,
    value: str,
    *,
    source: str,
    peer: str,
    poll_wall_seconds: float,
    until: float,
    clock: Clock,
    sleep: Sleep,
) -> MarkerLag:
    write_started = clock()
    answer = client.put(tenant, key, value, via=source, op_id=f"{key}-op")
    write_ended = clock()
    polls = 0
    last_miss: float | None = None
    found: float | None = None
    # a write the source refused or passed on is no marker of replication from it
    while _taken_by(answer, source) and clock() < until:
        read_started = clock()
        read = client.get(tenant, key, via=peer)
        read_ended = clock()
        polls += 1
        if read.ok and read.entity is not None and read.entity.value == value:
            found = read_ended
            break
        last_miss = read_started
        sleep(poll_wall_seconds)
    return MarkerLag(
        key=key,
        value=value,
        source=source,
        peer=peer,
        write=answer,
        write_started=write_started,
        write_ended=write_ended,
        polls=polls,
        last_miss_started=last_miss,
        found_ended=found,
    )


def _taken_by(answer: QueryAnswer, region: str) -> bool:
    """The region answered the write and served it itself (no refusal, no redirect)."""
    return answer.ok and answer.served_by in (None, region)


class LagComparison(BaseModel):
    """The target's reported lag beside the suite's observation, in plan seconds.

    The target under-reports when what it reports lies below the least lag the suite proved
    by more than the tolerance plus the sampling allowance. The lower bound is used so that
    the probe's resolution can never make a healthy target disagree: only lag the markers
    proved counts against it. The sampling allowance is what a lag gauge can miss between two
    samples: a gauge that is the age of the oldest change not yet applied rises one second
    per second while a change waits, so a reading taken every Δ wall seconds can be up to Δ
    (Δ × time scale in plan) below the lag a marker saw; under steady writes the gauge is
    flat at its top and the allowance is not used up.
    """

    model_config = _STRICT
    tenant: str
    metric: str = Field(description="the target's metric, as queried")
    target_reported_plan_seconds: float | None
    observed_lower_plan_seconds: float | None
    observed_upper_plan_seconds: float | None
    resolution_plan_seconds: float | None
    tolerance_plan_seconds: float = Field(ge=0)
    sampling_allowance_plan_seconds: float = Field(
        default=0.0, ge=0, description="what the target's gauge can miss between two samples"
    )

    @property
    def allowed_gap_plan_seconds(self) -> float:
        return self.tolerance_plan_seconds + self.sampling_allowance_plan_seconds

    @property
    def disagrees(self) -> bool:
        reported, observed = self.target_reported_plan_seconds, self.observed_lower_plan_seconds
        if reported is None or observed is None:
            return False
        return observed - reported > self.allowed_gap_plan_seconds

    @property
    def worse_plan_seconds(self) -> float | None:
        """The larger of the target's figure and the suite's upper bound (what a gate judges)."""
        figures = [
            f
            for f in (self.target_reported_plan_seconds, self.observed_upper_plan_seconds)
            if f is not None
        ]
        return max(figures, default=None)

    def message(self) -> str:
        """`target metric disagrees with observation: …`, naming both figures and the tolerance."""
        allowance = (
            f" plus {_seconds(self.sampling_allowance_plan_seconds)} for the gauge's sampling"
            if self.sampling_allowance_plan_seconds
            else ""
        )
        return (
            f"target metric disagrees with observation: {self.metric} reports "
            f"{_seconds(self.target_reported_plan_seconds)} plan for {self.tenant}, the suite's "
            f"marker writes observed at least {_seconds(self.observed_lower_plan_seconds)} "
            f"(at most {_seconds(self.observed_upper_plan_seconds)}, resolution "
            f"{_seconds(self.resolution_plan_seconds)}); the target reports "
            f"{_seconds(_gap(self))} less, beyond the tolerance of "
            f"{_seconds(self.tolerance_plan_seconds)}{allowance}"
        )


def compare_lag(
    observation: LagObservation,
    target_reported_plan_seconds: float | None,
    *,
    metric: str,
    tolerance_plan_seconds: float,
    sampling_allowance_plan_seconds: float = 0.0,
) -> LagComparison:
    """Set the target's figure for the probe's interval (the most its metric reported while
    the markers were in flight) beside the probe's own."""
    return LagComparison(
        tenant=observation.tenant,
        metric=metric,
        target_reported_plan_seconds=target_reported_plan_seconds,
        observed_lower_plan_seconds=observation.plan(observation.lower_wall_seconds),
        observed_upper_plan_seconds=observation.plan(observation.upper_wall_seconds),
        resolution_plan_seconds=observation.plan(observation.resolution_wall_seconds),
        tolerance_plan_seconds=tolerance_plan_seconds,
        sampling_allowance_plan_seconds=sampling_allowance_plan_seconds,
    )


def _gap(comparison: LagComparison) -> float | None:
    reported = comparison.target_reported_plan_seconds
    observed = comparison.observed_lower_plan_seconds
    return None if reported is None or observed is None else observed - reported


def _seconds(value: float | None) -> str:
    return "no figure" if value is None else f"{value:.1f} s"


def merge_observations(observations: Sequence[LagObservation]) -> LagObservation | None:
    """Rounds of one tenant's probe as one observation over all of their markers."""
    if not observations:
        return None
    first, last = observations[0], observations[-1]
    return first.model_copy(
        update={
            "markers": tuple(m for o in observations for m in o.markers),
            "ended": last.ended,
        }
    )


def judged_lag(
    reported_plan_seconds: float | None, observation: LagObservation | None
) -> float | None:
    """The lag a gate judges (plan seconds): the worse of the target's own figure and the lag
    the suite's markers proved, so a metric that under-reports cannot pass a lag the suite
    observed (None only when neither has a figure)."""
    proved = None if observation is None else observation.plan(observation.proved_wall_seconds)
    figures = [f for f in (reported_plan_seconds, proved) if f is not None]
    return max(figures, default=None)


def hidden_lag(
    observation: LagObservation,
    reported_plan_seconds: float | None,
    threshold: float,
    *,
    of: str,
) -> str | None:
    """`target metric disagrees with observation: …` when the markers proved a lag past
    `threshold` (plan seconds, the threshold of `of`) that the target's figure kept at or
    below it, else None. Only the proved lower bound counts (`proved_wall_seconds`: a marker
    that never arrived proves the lag was at least as long as it was missing), so the probe's
    resolution never fails a healthy target."""
    proved = observation.plan(observation.proved_wall_seconds)
    if proved is None or proved <= threshold:
        return None
    if reported_plan_seconds is not None and reported_plan_seconds > threshold:
        return None
    shown = "nothing" if reported_plan_seconds is None else f"{reported_plan_seconds:.1f} s"
    return (
        f"target metric disagrees with observation: the target's lag of {observation.tenant} "
        f"read at most {shown} plan while the suite's markers proved at least {proved:.1f} s, "
        f"past the {threshold:g} s threshold of {of} that the metric never showed "
        f"({observation.describe()})"
    )


class BackgroundLagProbe:
    """The lag probe in a thread, so it measures while a fault or a stage holds without
    lengthening the hold: one round, or (`every_wall_seconds`) a round every so often until
    stopped. Bounded: each round by the probe's budget, and no round starts after `stop()`."""

    def __init__(
        self,
        profile: TargetProfile,
        tenant: str,
        *,
        source: str,
        peer: str,
        every_wall_seconds: float | None = None,
        markers: int = DEFAULT_MARKERS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.profile, self.tenant, self.source, self.peer = profile, tenant, source, peer
        self.transport = transport
        self.every_wall_seconds = every_wall_seconds
        self.markers = markers
        self.rounds: list[LagObservation] = []
        self.unreachable_rounds = 0
        self.turned_rounds = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lag-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with DataPlaneClient(self.profile, transport=self.transport) as client:
                while True:
                    try:
                        observed = probe_lag(
                            client,
                            self.tenant,
                            source=self.source,
                            peer=self.peer,
                            time_scale=self.profile.time_scale,
                            markers=self.markers,
                        )
                        self.rounds.append(observed)
                        if not any(marker.written for marker in observed.markers):
                            # the region written to took none of the round's writes (an A/P
                            # tenant failed over, or rolled back to its other region): the
                            # writes now replicate the other way, so the next round follows
                            self.source, self.peer = self.peer, self.source
                            self.turned_rounds += 1
                    except UnreachableError:
                        # a region down (a drill, an outage experiment): that round proves
                        # nothing, the next one may
                        self.unreachable_rounds += 1
                    every = self.every_wall_seconds
                    if every is None or self._stop.wait(every):
                        return
        except BaseException as exc:  # re-raised by stop(), never lost in the thread
            self.error = exc

    def stop(self) -> LagObservation | None:
        """Let the running round finish, start no other, and return every round's markers as
        one observation (None when the probe never started)."""
        self._stop.set()
        if self._thread is None:
            return None
        self._thread.join(timeout=DEFAULT_PROBE_BUDGET_WALL_SECONDS + 10)
        if self.error is not None:
            raise self.error
        return merge_observations(self.rounds)
