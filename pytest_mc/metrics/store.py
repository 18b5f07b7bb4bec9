"""Where sampled series live during a run, with memory that stays flat over a 24h bake.

Each series keeps its recent points in a fixed-size ring of two ``array('d')`` buffers (16
bytes a point), allocated once and sized by the longest window the run evaluates; older points
are overwritten, never accumulated. Every point is also appended to an optional on-disk log,
one compact line per point, so a window longer than the ring (or a series beyond the in-memory
series cap) is read back by streaming the file, still in bounded memory.

Log format (text, append-only, one record a line)::

    d <series id> <query>\t<labels as JSON>      a series is defined before its first point
    p <series id> <wall epoch seconds> <value>   one point (floats as repr, so they round-trip)
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from pytest_mc.errors import InputError
from pytest_mc.metrics.source import (
    InstantVector,
    MetricQuery,
    RangeResult,
    Sample,
    Series,
    SourceName,
)

# Keep this many points beyond the longest window so that the evaluator's look-back (the
# sample just before a window starts) is still in memory.
_RING_SLACK = 1.25
_RING_EXTRA = 16
DEFAULT_MAX_SERIES = 2_000

SeriesIdentity = tuple[str, tuple[tuple[str, str], ...]]


def ring_capacity(
    longest_window_plan_seconds: float, time_scale: float, sample_interval_seconds: float
) -> int:
    """Points per series needed to hold the longest window (plan time) at the sample interval."""
    if longest_window_plan_seconds <= 0 or time_scale <= 0 or sample_interval_seconds <= 0:
        raise InputError(
            f"cannot size the metric store: window {longest_window_plan_seconds!r}s, time scale "
            f"{time_scale!r} and sample interval {sample_interval_seconds!r}s must all be > 0"
        )
    wall = longest_window_plan_seconds / time_scale
    return math.ceil(wall / sample_interval_seconds * _RING_SLACK) + _RING_EXTRA


class RingSeries:
    """Fixed-capacity (time, value) buffer for one series; appends overwrite the oldest."""

    __slots__ = ("_count", "_head", "_times", "_values", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError(f"ring capacity must be at least 2, not {capacity}")
        self.capacity = capacity
        self._times = array("d", bytes(8 * capacity))
        self._values = array("d", bytes(8 * capacity))
        self._head = 0  # next slot to write
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def full(self) -> bool:
        return self._count == self.capacity

    def _slot(self, logical: int) -> int:
        return (self._head - self._count + logical) % self.capacity

    def oldest(self) -> float | None:
        return self._times[self._slot(0)] if self._count else None

    def newest(self) -> float | None:
        return self._times[self._slot(self._count - 1)] if self._count else None

    def last(self) -> tuple[float, float]:
        slot = self._slot(self._count - 1)
        return self._times[slot], self._values[slot]

    def append(self, at: float, value: float) -> bool:
        """Add a point; a point older than the newest is refused (False): series only grow."""
        newest = self.newest()
        if newest is not None and at < newest:
            return False
        self._times[self._head] = at
        self._values[self._head] = value
        self._head = (self._head + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)
        return True

    def _first_after(self, at: float, *, inclusive: bool) -> int:
        """Logical index of the first point at (``inclusive``) or after ``at``."""
        low, high = 0, self._count
        while low < high:
            middle = (low + high) // 2
            point = self._times[self._slot(middle)]
            if point < at or (not inclusive and point == at):
                low = middle + 1
            else:
                high = middle
        return low

    def window(self, start: float, end: float) -> list[tuple[float, float]]:
        """Points with ``start <= t <= end``, oldest first."""
        first = self._first_after(start, inclusive=True)
        stop = self._first_after(end, inclusive=False)
        if stop <= first:
            return []
        # at most two contiguous runs of slots (the ring may wrap): slice them at C speed
        begin = self._slot(first)
        length = stop - first
        if begin + length <= self.capacity:
            runs = [(begin, begin + length)]
        else:
            runs = [(begin, self.capacity), (0, begin + length - self.capacity)]
        points: list[tuple[float, float]] = []
        for low, high in runs:
            points.extend(zip(self._times[low:high], self._values[low:high], strict=True))
        return points

    def covers(self, start: float) -> bool:
        """True when every point this series ever had at or after ``start`` is still here."""
        oldest = self.oldest()
        return not self.full or (oldest is not None and oldest <= start)


class SampleStore:
    """Bounded in-memory rings per series plus an optional append-only log on disk."""

    def __init__(
        self,
        *,
        capacity_per_series: int,
        path: Path | None = None,
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> None:
        self.capacity_per_series = capacity_per_series
        self.max_series = max_series
        self.path = path
        self._rings: dict[SeriesIdentity, RingSeries] = {}
        self._ids: dict[SeriesIdentity, int] = {}
        self._by_query: dict[str, list[SeriesIdentity]] = {}
        self._log: TextIO | None = None
        self.points_written = 0
        self.points_refused = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Line buffered would flush per point; a block buffer flushed per append batch is
            # what keeps a 24h bake cheap while losing at most the batch in flight on a crash.
            self._log = path.open("a", encoding="utf-8")

    @classmethod
    def for_windows(
        cls,
        *,
        longest_window_plan_seconds: float,
        time_scale: float,
        sample_interval_seconds: float,
        path: Path | None = None,
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> SampleStore:
        """A store whose rings hold the longest window the run evaluates."""
        capacity = ring_capacity(longest_window_plan_seconds, time_scale, sample_interval_seconds)
        return cls(capacity_per_series=capacity, path=path, max_series=max_series)

    @property
    def series_in_memory(self) -> int:
        return len(self._rings)

    @property
    def series_known(self) -> int:
        return len(self._ids)

    def queries(self) -> tuple[str, ...]:
        return tuple(self._by_query)

    def _identity(self, query: str, labels: dict[str, str]) -> SeriesIdentity:
        identity: SeriesIdentity = (query, tuple(sorted(labels.items())))
        if identity not in self._ids:
            series_id = len(self._ids)
            self._ids[identity] = series_id
            self._by_query.setdefault(query, []).append(identity)
            if len(self._rings) < self.max_series:
                self._rings[identity] = RingSeries(self.capacity_per_series)
            if self._log is not None:
                labels_json = json.dumps(dict(identity[1]), separators=(",", ":"))
                self._log.write(f"d {series_id} {query}\t{labels_json}\n")
        return identity

    def append(self, query: str, at: float, samples: Sequence[Sample]) -> None:
        """Record one instant's answer to ``query`` (one sample per series).

        The log is not flushed here: a caller recording several queries of one scrape calls
        `flush` once after them (the recorder does), so a crash loses at most that scrape.
        """
        log = self._log
        for sample in samples:
            identity = self._identity(query, sample.labels)
            ring = self._rings.get(identity)
            if ring is not None and not ring.append(at, sample.value):
                self.points_refused += 1
                continue
            if log is not None:
                log.write(f"p {self._ids[identity]} {at!r} {sample.value!r}\n")
            self.points_written += 1

    def append_point(self, query: str, labels: dict[str, str], at: float, value: float) -> None:
        """Record one point of one series (the hot path of synthetic feeds and benchmarks)."""
        identity = self._identity(query, labels)
        ring = self._rings.get(identity)
        if ring is not None and not ring.append(at, value):
            self.points_refused += 1
            return
        if self._log is not None:
            self._log.write(f"p {self._ids[identity]} {at!r} {value!r}\n")
        self.points_written += 1

    def flush(self) -> None:
        if self._log is not None:
            self._log.flush()

    def window(self, query: str, start: float, end: float) -> tuple[Series, ...]:
        """Every series of ``query`` with its points in ``[start, end]``, oldest first.

        Served from memory when the ring still holds ``start``; otherwise streamed from the
        log file (when there is one); without a log, what the ring holds.
        """
        found: list[Series] = []
        from_disk: dict[int, SeriesIdentity] = {}
        for identity in self._by_query.get(query, []):
            ring = self._rings.get(identity)
            if ring is not None and (ring.covers(start) or self._log is None):
                points = ring.window(start, end)
                # built from the store's own floats: validating 20k points again is waste
                found.append(Series.model_construct(labels=dict(identity[1]), points=tuple(points)))
            else:
                from_disk[self._ids[identity]] = identity
        if from_disk:
            self.flush()
            assert self.path is not None
            collected: dict[int, list[tuple[float, float]]] = {n: [] for n in from_disk}
            for series_id, at, value in _read_points(self.path, set(from_disk)):
                if start <= at <= end:
                    collected[series_id].append((at, value))
            for series_id, identity in from_disk.items():
                found.append(
                    Series.model_construct(
                        labels=dict(identity[1]), points=tuple(collected[series_id])
                    )
                )
        return tuple(found)

    def latest(self, query: str) -> tuple[tuple[dict[str, str], float, float], ...]:
        """(labels, wall time, value) of the newest point of each series of ``query``."""
        found: list[tuple[dict[str, str], float, float]] = []
        for identity in self._by_query.get(query, []):
            ring = self._rings.get(identity)
            if ring is not None and len(ring):
                at, value = ring.last()
                found.append((dict(identity[1]), at, value))
            elif ring is None:
                for series in self.window(query, -math.inf, math.inf):
                    if series.labels == dict(identity[1]) and series.points:
                        found.append((series.labels, *series.points[-1]))
        return tuple(found)

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> SampleStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class RecordedSource:
    """`MetricSource` over what a `SampleStore` holds: synthetic feeds, replays of a bake log.

    Series are keyed by the query's PromQL text, exactly as the scrape source records them;
    an instant answer is each series' newest point.
    """

    def __init__(self, store: SampleStore) -> None:
        self.store = store

    @property
    def name(self) -> SourceName:
        return "recorded"

    def sample(self, query: MetricQuery) -> InstantVector:
        return self.sample_many([query])[0]

    def sample_many(self, queries: Sequence[MetricQuery]) -> tuple[InstantVector, ...]:
        answers: list[InstantVector] = []
        for query in queries:
            newest = self.store.latest(query.promql())
            at = max((point_at for _, point_at, _ in newest), default=0.0)
            samples = tuple(Sample(labels=labels, value=value) for labels, _, value in newest)
            answers.append(
                InstantVector(query=query.promql(), at=at, source="recorded", samples=samples)
            )
        return tuple(answers)

    def series(
        self, query: MetricQuery, start: float, end: float, step: float | None = None
    ) -> RangeResult:
        del step
        text = query.promql()
        return RangeResult(
            query=text,
            start=start,
            end=end,
            source="recorded",
            series=self.store.window(text, start, end),
        )

    def close(self) -> None:
        self.store.close()


def _read_points(path: Path, wanted: set[int]) -> Iterator[tuple[int, float, float]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            # a line without its newline is the write a crash cut short: not a point yet
            if not line.startswith("p ") or not line.endswith("\n"):
                continue
            _, series_id, at, value = line.split()
            number = int(series_id)
            if number in wanted:
                yield number, float(at), float(value)


def read_log(path: Path) -> Iterator[tuple[str, dict[str, str], float, float]]:
    """Stream a store log back as (query, labels, wall epoch seconds, value), in write order."""
    definitions: dict[int, tuple[str, dict[str, str]]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith("\n"):
                return  # the write a crash cut short
            kind, _, rest = line.rstrip("\n").partition(" ")
            try:
                if kind == "d":
                    series_id, _, definition = rest.partition(" ")
                    query, _, labels_json = definition.partition("\t")
                    labels = json.loads(labels_json)
                    definitions[int(series_id)] = (
                        query,
                        {str(k): str(v) for k, v in labels.items()},
                    )
                elif kind == "p":
                    series_id, at, value = rest.split()
                    query, labels = definitions[int(series_id)]
                    yield query, labels, float(at), float(value)
                else:
                    raise ValueError(f"unknown record kind {kind!r}")
            except (ValueError, KeyError, AttributeError) as exc:
                raise InputError(
                    f"metric log {path}:{number} is malformed ({exc}); the file is written only "
                    f"by pytest-mc's sample store, so it was cut or edited"
                ) from exc
