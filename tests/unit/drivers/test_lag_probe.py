"""The lag probe against an in-memory pair of regions on a fake clock: the bracket it puts
around each marker's lag, its resolution in plan seconds, its bounds, and the comparison of
the target's reported lag with the observed one."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest
from two_regions import FIRST, PORTS, SECOND, two_region_profile

from pytest_mc.drivers.dataplane import DataPlaneClient
from pytest_mc.drivers.lag_probe import (
    MAX_MARKERS,
    BackgroundLagProbe,
    LagObservation,
    compare_lag,
    hidden_lag,
    merge_observations,
    probe_lag,
)

SOURCE, PEER = FIRST, SECOND
PROFILE = two_region_profile("active-active")
TIME_SCALE = 600.0
METRIC = "max(mc_tenant_replication_lag_seconds{tenant='T1'})"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class DelayedReplication:
    """A write commits half-way through its round trip and is on the other region `lag` later.

    `primary` makes the pair active/passive: a write sent to the other region is refused (409
    `not_primary`) or, with `redirect`, committed on the primary and answered from there."""

    def __init__(
        self,
        clock: FakeClock,
        *,
        lag: float,
        round_trip: float,
        replicates: bool = True,
        primary: str | None = None,
        redirect: bool = False,
    ) -> None:
        self.clock = clock
        self.lag = lag
        self.round_trip = round_trip
        self.replicates = replicates
        self.primary = primary
        self.redirect = redirect
        self.commits: dict[str, tuple[str, float, str]] = {}
        self.writes_to: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        region = PORTS[str(request.url.port)]
        body = json.loads(request.content)
        key = str(body["variables"]["key"])
        self.clock.now += self.round_trip / 2
        at = self.clock.now
        self.clock.now += self.round_trip / 2
        if body["id"] == "put_entity":
            self.writes_to.append(region)
            if self.primary not in (None, region):
                if not self.redirect:
                    return httpx.Response(409, json={"error": "not_primary", "region": region})
                region = self.primary
            self.commits[key] = (str(body["variables"]["value"]), at, region)
            return httpx.Response(200, json={"data": {"key": key, "version": 1}, "region": region})
        held = self.commits.get(key)
        visible = held is not None and (
            region == held[2] or (self.replicates and at >= held[1] + self.lag)
        )
        if not visible or held is None:
            return httpx.Response(404, json={"error": "not_found", "region": region})
        data = {"key": key, "value": held[0], "version": 1}
        return httpx.Response(200, json={"data": data, "region": region})


def _observe(fake: DelayedReplication, clock: FakeClock, **kwargs: object) -> LagObservation:
    with DataPlaneClient(PROFILE, transport=httpx.MockTransport(fake)) as client:
        return probe_lag(
            client,
            "T1",
            source=SOURCE,
            peer=PEER,
            time_scale=TIME_SCALE,
            clock=clock,
            sleep=clock.sleep,
            wall_clock=clock,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("lag", [0.0, 0.004, 0.15, 0.5])
def test_the_bracket_holds_the_true_lag_and_is_as_wide_as_poll_plus_round_trips(
    lag: float,
) -> None:
    clock = FakeClock()
    fake = DelayedReplication(clock, lag=lag, round_trip=0.002)
    observation = _observe(fake, clock, markers=3, poll_wall_seconds=0.01)
    assert len(observation.replicated) == 3
    assert not observation.missing
    assert set(fake.writes_to) == {SOURCE}
    lower, upper = observation.lower_wall_seconds, observation.upper_wall_seconds
    assert lower is not None
    assert upper is not None
    assert lower <= lag <= upper
    resolution = observation.resolution_wall_seconds
    assert resolution is not None
    assert resolution <= 0.01 + 3 * 0.002 + 1e-9
    plan_lower = observation.plan(lower)
    assert plan_lower == pytest.approx(lower * TIME_SCALE)
    assert "resolution" in observation.describe()
    assert "3 of 3 markers" in observation.describe()


def test_a_marker_that_never_arrives_is_missing_and_the_probe_stops_by_itself() -> None:
    clock = FakeClock()
    fake = DelayedReplication(clock, lag=0.0, round_trip=0.002, replicates=False)
    start = clock.now
    observation = _observe(
        fake,
        clock,
        markers=4,
        poll_wall_seconds=0.01,
        marker_timeout_wall_seconds=0.5,
        budget_wall_seconds=1.2,
    )
    # Three markers start within the budget of 1.2 s, each given up after 0.5 s.
    assert len(observation.markers) == 3
    assert len(observation.missing) == 3
    assert observation.lower_wall_seconds is None
    assert clock.now - start < 1.2 + 0.5 + 0.1
    assert "no lag observed" in observation.describe()


@pytest.mark.parametrize("markers", [0, MAX_MARKERS + 1])
def test_the_marker_count_is_bounded(markers: int) -> None:
    clock = FakeClock()
    with pytest.raises(ValueError, match="markers must be 1 to 50"):
        _observe(DelayedReplication(clock, lag=0.0, round_trip=0.0), clock, markers=markers)


def _observed(lag: float) -> LagObservation:
    clock = FakeClock()
    return _observe(
        DelayedReplication(clock, lag=lag, round_trip=0.002), clock, poll_wall_seconds=0.01
    )


def test_a_target_that_reports_the_lag_it_has_agrees() -> None:
    observation = _observed(0.15)  # 90 s plan
    comparison = compare_lag(
        observation, 0.15 * TIME_SCALE, metric=METRIC, tolerance_plan_seconds=15.0
    )
    assert not comparison.disagrees
    assert comparison.worse_plan_seconds == pytest.approx(
        max(0.15 * TIME_SCALE, comparison.observed_upper_plan_seconds or 0.0)
    )


def test_a_target_that_reports_40_percent_of_its_lag_disagrees_naming_both_figures() -> None:
    observation = _observed(0.15)
    comparison = compare_lag(
        observation, 0.4 * 0.15 * TIME_SCALE, metric=METRIC, tolerance_plan_seconds=15.0
    )
    assert comparison.disagrees
    lower = comparison.observed_lower_plan_seconds
    assert lower is not None
    assert comparison.message() == (
        f"target metric disagrees with observation: {METRIC} reports 36.0 s plan for T1, the "
        f"suite's marker writes observed at least {lower:.1f} s (at most "
        f"{comparison.observed_upper_plan_seconds:.1f} s, resolution "
        f"{comparison.resolution_plan_seconds:.1f} s); the target reports "
        f"{lower - 36.0:.1f} s less, beyond the tolerance of 15.0 s"
    )


def test_resolution_alone_never_makes_a_healthy_target_disagree() -> None:
    # A tiny real lag under a coarse poll: the upper bound is far above what the target
    # reports, but only the lower bound (what the markers proved) counts against it.
    clock = FakeClock()
    observation = _observe(
        DelayedReplication(clock, lag=0.06, round_trip=0.05), clock, poll_wall_seconds=0.2
    )
    upper = observation.plan(observation.upper_wall_seconds)
    assert upper is not None
    assert upper > 60.0
    assert observation.lower_wall_seconds == 0.0
    comparison = compare_lag(
        observation, 0.06 * TIME_SCALE, metric=METRIC, tolerance_plan_seconds=0.0
    )
    assert not comparison.disagrees


def test_no_figure_on_either_side_is_no_disagreement() -> None:
    observation = _observed(0.1)
    assert not compare_lag(observation, None, metric=METRIC, tolerance_plan_seconds=0).disagrees


def test_the_gauge_sampling_allowance_widens_the_gap_a_target_may_show() -> None:
    observation = _observed(0.15)
    lower = observation.plan(observation.lower_wall_seconds)
    assert lower is not None
    reported = lower - 40.0  # a gauge read between samples, 40 s below the marker's lag
    strict = compare_lag(observation, reported, metric=METRIC, tolerance_plan_seconds=15.0)
    assert strict.disagrees
    allowing = compare_lag(
        observation,
        reported,
        metric=METRIC,
        tolerance_plan_seconds=15.0,
        sampling_allowance_plan_seconds=30.0,
    )
    assert not allowing.disagrees
    assert allowing.allowed_gap_plan_seconds == 45.0
    too_low = compare_lag(
        observation,
        lower - 50.0,
        metric=METRIC,
        tolerance_plan_seconds=15.0,
        sampling_allowance_plan_seconds=30.0,
    )
    assert too_low.message().endswith(
        "beyond the tolerance of 15.0 s plus 30.0 s for the gauge's sampling"
    )


def test_a_marker_that_never_arrives_proves_the_lag_was_at_least_its_wait() -> None:
    clock = FakeClock()
    fake = DelayedReplication(clock, lag=0.0, round_trip=0.002, replicates=False)
    observation = _observe(
        fake, clock, markers=1, poll_wall_seconds=0.01, marker_timeout_wall_seconds=0.5
    )
    proved = observation.proved_wall_seconds
    assert observation.lower_wall_seconds is None  # nothing replicated to bracket
    assert proved is not None
    assert 0.45 <= proved <= 0.5  # missing at the start of its last read, ~0.5 s after the write


@pytest.mark.parametrize(
    ("reported", "threshold", "hidden"),
    [
        (36.0, 60.0, True),  # proved ~90 s, the metric kept it at 36 s: hidden
        (None, 60.0, True),  # the metric said nothing while the markers proved a crossing
        (61.0, 60.0, False),  # the metric showed the crossing, however much lower
        (36.0, 120.0, False),  # nothing past this threshold was proved
    ],
)
def test_a_proved_crossing_the_metric_kept_below_the_threshold_is_hidden(
    reported: float | None, threshold: float, hidden: bool
) -> None:
    observation = _observed(0.15)  # 90 s plan at the time scale of 600
    proved = observation.plan(observation.proved_wall_seconds)
    assert proved is not None
    assert 80.0 < proved <= 90.0
    message = hidden_lag(observation, reported, threshold, of="the replication_lag gate")
    assert (message is not None) is hidden
    if message is not None:
        assert message.startswith("target metric disagrees with observation: the target's lag")
        assert f"past the {threshold:g} s threshold of the replication_lag gate" in message


def test_rounds_merge_into_one_observation_over_all_their_markers() -> None:
    first, second = _observed(0.004), _observed(0.15)
    merged = merge_observations([first, second])
    assert merged is not None
    assert len(merged.markers) == len(first.markers) + len(second.markers)
    assert (merged.started, merged.ended) == (first.started, second.ended)
    assert merged.proved_wall_seconds == second.proved_wall_seconds
    assert merge_observations([]) is None


def _background(
    handler: Callable[[httpx.Request], httpx.Response], *, every: float, markers: int = 2
) -> BackgroundLagProbe:
    """A background probe from SOURCE to PEER over an in-memory transport."""
    return BackgroundLagProbe(
        PROFILE,
        "T1",
        source=SOURCE,
        peer=PEER,
        every_wall_seconds=every,
        markers=markers,
        transport=httpx.MockTransport(handler),
    )


def _until(done: Callable[[], bool], wall_seconds: float = 5.0) -> None:
    deadline = time.monotonic() + wall_seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_background_probe_runs_rounds_until_stopped_and_starts_none_after() -> None:
    clock = FakeClock()  # the fake's visibility only: the probe runs on the real clock
    fake = DelayedReplication(clock, lag=0.0, round_trip=0.0)
    assert _background(fake, every=0.02).stop() is None  # never started: nothing observed
    probe = _background(fake, every=0.02)
    probe.start()
    _until(lambda: len(probe.rounds) >= 3)
    observation = probe.stop()
    rounds = len(probe.rounds)
    assert rounds >= 3
    assert observation is not None
    assert len(observation.markers) == 2 * rounds
    time.sleep(0.1)
    assert len(probe.rounds) == rounds  # no round starts after stop()


def test_a_round_against_an_unreachable_region_is_counted_and_the_probe_goes_on() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    probe = _background(refuse, every=0.01)
    probe.start()
    _until(lambda: probe.unreachable_rounds >= 2)
    assert probe.stop() is None  # no round proved anything, and nothing is raised
    assert probe.unreachable_rounds >= 2


@pytest.mark.parametrize("redirect", [False, True], ids=["refused", "redirected"])
def test_a_write_the_region_did_not_take_itself_is_no_marker(redirect: bool) -> None:
    # PEER takes the writes: SOURCE refuses them, or passes them on to PEER, where a read
    # finds them at once; neither says anything about replication from SOURCE
    clock = FakeClock()
    fake = DelayedReplication(clock, lag=0.15, round_trip=0.002, primary=PEER, redirect=redirect)
    observation = _observe(fake, clock, markers=3)
    assert [m.written for m in observation.markers] == [False] * 3
    assert observation.replicated == ()
    assert observation.proved_wall_seconds is None
    assert "3 not taken by the region written to" in observation.describe()


def test_the_background_probe_turns_to_the_region_that_takes_the_writes() -> None:
    # an A/P pair whose primary is PEER (a failover moved it): the first round's writes to
    # SOURCE are all refused, and the rounds after it measure from PEER to SOURCE
    clock = FakeClock()
    fake = DelayedReplication(clock, lag=0.0, round_trip=0.0, primary=PEER)
    probe = _background(fake, every=0.01)
    probe.start()
    _until(lambda: len(probe.rounds) >= 3)
    observation = probe.stop()
    assert observation is not None
    assert probe.turned_rounds == 1
    first, *later = probe.rounds
    assert not any(m.written for m in first.markers)
    assert all(
        m.replicated and (m.source, m.peer) == (PEER, SOURCE) for r in later for m in r.markers
    )
    assert observation.directions == (
        f"written to {SOURCE}, read on {PEER} and written to {PEER}, read on {SOURCE}"
    )
