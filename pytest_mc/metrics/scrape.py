"""The `scrape` metric source: read the target's `/metrics` endpoints directly with httpx.

One scrape fetches every endpoint of the profile (in parallel) and answers any number of
queries at that instant. Series over a window come from what was recorded: `record` (or a
`ScrapeRecorder` thread at the profile's sample interval) appends each watched query's answer
to a bounded `SampleStore`. An endpoint that does not answer (a crashed region) leaves its
series out of that scrape; only when no endpoint answers is the target unreachable.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import httpx
from pydantic import BaseModel, ConfigDict

from pytest_mc.errors import InputError, TargetError, UnreachableError
from pytest_mc.metrics.source import (
    InstantVector,
    MetricQuery,
    RangeResult,
    Sample,
    SourceName,
    aggregate,
)
from pytest_mc.metrics.store import SampleStore
from pytest_mc.target.profile import MetricEndpoint

DEFAULT_TIMEOUT_SECONDS = 5.0
_RECENT_SAMPLES = 256  # scrape times a recorder keeps, to close a window at a real sample
_SPECIAL_VALUES = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "Inf": math.inf}
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


class TextSample(NamedTuple):
    """One line of the text exposition format: sample name, labels, value."""

    name: str
    labels: dict[str, str]
    value: float


class ExpositionError(ValueError):
    """A line of exposition text that does not parse; carries the 1-based line number."""

    def __init__(self, line_number: int, line: str, why: str) -> None:
        super().__init__(f"line {line_number}: {why}: {line[:120]!r}")
        self.line_number = line_number


def _parse_value(text: str) -> float:
    special = _SPECIAL_VALUES.get(text)
    return special if special is not None else float(text)


def _parse_labels(line: str, position: int, line_number: int) -> tuple[dict[str, str], int]:
    """Parse ``{a="x",b="y"}`` from its ``{``; return the labels and the index after ``}``."""
    labels: dict[str, str] = {}
    index = position + 1
    length = len(line)
    while True:
        while index < length and line[index] in " ,":
            index += 1
        if index < length and line[index] == "}":
            return labels, index + 1
        equals = line.find("=", index)
        if equals < 0:
            raise ExpositionError(line_number, line, "label without '='")
        name = line[index:equals].strip()
        if not name or equals + 1 >= length or line[equals + 1] != '"':
            raise ExpositionError(line_number, line, "label value must be double-quoted")
        index = equals + 2
        chars: list[str] = []
        while True:
            if index >= length:
                raise ExpositionError(line_number, line, "unterminated label value")
            char = line[index]
            if char == "\\":
                if index + 1 >= length:
                    raise ExpositionError(line_number, line, "dangling escape")
                chars.append(_ESCAPES.get(line[index + 1], "\\" + line[index + 1]))
                index += 2
            elif char == '"':
                index += 1
                break
            else:
                chars.append(char)
                index += 1
        labels[name] = "".join(chars)


def declared_metrics(text: str) -> set[str]:
    """The metric families a text exposition declares (`# TYPE name type`), samples or not: a
    labelled counter nobody has incremented yet is declared before its first series. A
    counter declared without its `_total` (OpenMetrics style) is named with it too."""
    names: set[str] = set()
    for raw in text.splitlines():
        parts = raw.split()
        if len(parts) >= 4 and parts[0] == "#" and parts[1] == "TYPE":
            names.add(parts[2])
            if parts[3] == "counter" and not parts[2].endswith("_total"):
                names.add(f"{parts[2]}_total")
    return names


def parse_exposition(text: str) -> list[TextSample]:
    """Parse Prometheus text exposition (0.0.4, and OpenMetrics' subset of it) into samples.

    Comments (`# HELP`, `# TYPE`, `# EOF`) and blank lines are skipped; a trailing timestamp
    is ignored (the scrape's own time is the sample time); ``NaN`` and ``±Inf`` are kept.
    """
    samples: list[TextSample] = []
    for line_number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        brace = line.find("{")
        space = line.find(" ")
        if brace >= 0 and (space < 0 or brace < space):
            name = line[:brace]
            labels, after = _parse_labels(line, brace, line_number)
            rest = line[after:].split()
        else:
            parts = line.split()
            name, labels, rest = parts[0], {}, parts[1:]
        if not name or not rest or len(rest) > 2:
            raise ExpositionError(line_number, line, "expected 'name[{labels}] value [ts]'")
        try:
            value = _parse_value(rest[0])
        except ValueError:
            raise ExpositionError(line_number, line, f"value {rest[0]!r} is not a number") from None
        samples.append(TextSample(name, labels, value))
    return samples


class EndpointStatus(BaseModel):
    """How one endpoint answered one scrape."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    component: str
    url: str
    up: bool
    samples: int
    error: str | None = None


@dataclass(frozen=True)
class Scrape:
    """Every endpoint read once at (about) the same instant.

    A dataclass, not a model: it holds every parsed line of every endpoint for the moment
    the queries are answered, and validating hundreds of samples per tick would be waste.
    """

    at: float
    endpoints: tuple[EndpointStatus, ...]
    samples: tuple[TextSample, ...]

    def answer(self, query: MetricQuery) -> InstantVector:
        """Evaluate ``query`` on this scrape's samples."""
        selected = [
            Sample(labels=s.labels, value=s.value)
            for s in self.samples
            if s.name == query.metric and query.selects(s.name, s.labels)
        ]
        return InstantVector(
            query=query.promql(), at=self.at, source="scrape", samples=aggregate(query, selected)
        )


class ScrapeSource:
    """`MetricSource` over the profile's `/metrics` endpoints, recording into a `SampleStore`."""

    def __init__(
        self,
        endpoints: Sequence[MetricEndpoint],
        *,
        store: SampleStore | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not endpoints:
            raise InputError("the scrape metric source needs at least one metrics.endpoints entry")
        self.endpoints = tuple(endpoints)
        self.store = store
        self._clock = clock
        self._client = httpx.Client(timeout=timeout_seconds, transport=transport)
        self._pool = ThreadPoolExecutor(max_workers=len(self.endpoints))
        self._lock = threading.Lock()
        self._watched: set[str] = set()

    @property
    def name(self) -> SourceName:
        return "scrape"

    def watch(self, queries: Sequence[MetricQuery]) -> None:
        """Declare queries that will be recorded: their windows are empty until then."""
        with self._lock:
            self._watched.update(query.promql() for query in queries)

    def _fetch(self, endpoint: MetricEndpoint) -> tuple[EndpointStatus, list[TextSample]]:
        try:
            response = self._client.get(endpoint.url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            status = EndpointStatus(
                component=endpoint.component, url=endpoint.url, up=False, samples=0, error=reason
            )
            return status, []
        try:
            samples = parse_exposition(response.text)
        except ExpositionError as exc:
            raise TargetError(
                f"metrics endpoint {endpoint.component} ({endpoint.url}) does not serve "
                f"Prometheus text format: {exc}; check the profile's metrics.endpoints"
            ) from exc
        status = EndpointStatus(
            component=endpoint.component, url=endpoint.url, up=True, samples=len(samples)
        )
        return status, samples

    def scrape(self) -> Scrape:
        """Read every endpoint once; unreachable only when none answers."""
        at = self._clock()
        results = list(self._pool.map(self._fetch, self.endpoints))
        if not any(status.up for status, _ in results):
            first = results[0][0]
            raise UnreachableError(
                f"no metrics endpoint answered (first: {first.component} {first.url}: "
                f"{first.error}); is the target running? check metrics.endpoints in the profile"
            )
        samples = tuple(sample for _, found in results for sample in found)
        return Scrape(at=at, endpoints=tuple(status for status, _ in results), samples=samples)

    def sample(self, query: MetricQuery) -> InstantVector:
        return self.sample_many([query])[0]

    def sample_many(self, queries: Sequence[MetricQuery]) -> tuple[InstantVector, ...]:
        scrape = self.scrape()
        return tuple(scrape.answer(query) for query in queries)

    def record(self, queries: Sequence[MetricQuery]) -> Scrape:
        """Scrape once and append each query's answer to the store."""
        if self.store is None:
            raise InputError("this scrape source has no sample store to record into")
        scrape = self.scrape()
        answers = [scrape.answer(query) for query in queries]
        with self._lock:
            self._watched.update(answer.query for answer in answers)
            for answer in answers:
                self.store.append(answer.query, answer.at, answer.samples)
            self.store.flush()
        return scrape

    def series(
        self, query: MetricQuery, start: float, end: float, step: float | None = None
    ) -> RangeResult:
        """The recorded series of ``query`` in ``[start, end]``; ``step`` is not used."""
        del step  # scrapes are kept at the recording interval
        if self.store is None:
            raise InputError(
                "the scrape source answers windows only from what it recorded; give it a "
                "SampleStore and record (or run a ScrapeRecorder) before evaluating windows"
            )
        text = query.promql()
        with self._lock:
            if text not in self._watched:
                raise InputError(
                    f"query {text} was never recorded by the scrape source; add it to the "
                    f"recorder's queries before the window you evaluate starts"
                )
            found = self.store.window(text, start, end)
        return RangeResult(query=text, start=start, end=end, source="scrape", series=found)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()


def closing_sample(recorder: ScrapeRecorder, end: float) -> float:
    """Where to close a window that ends at wall time `end`: the first recorded scrape at or
    after it (waited for), else `end` itself.

    A scrape that runs late on a busy machine leaves the last point inside the window short
    of its end, and the evaluator rightly refuses a window its samples do not span. Closed at
    a real sample instead, the window is the same length, shifted by less than a scrape."""
    if recorder.wait_for_sample(end) and recorder.last_sample_at is not None:
        return max(end, recorder.first_sample_at_or_after(end) or recorder.last_sample_at)
    return end


class ScrapeRecorder:
    """Records queries at a fixed wall interval on a background thread until stopped.

    Ticks are scheduled on a fixed grid (no drift); a tick that falls behind is skipped, not
    queued. A scrape that fails (target briefly unreachable) is counted and the recorder goes
    on: a gap in the samples is what the evaluator then reports as too little data.
    """

    def __init__(
        self, source: ScrapeSource, queries: Sequence[MetricQuery], interval_seconds: float
    ) -> None:
        if interval_seconds <= 0:
            raise InputError(f"recording interval must be > 0 seconds, not {interval_seconds!r}")
        self.source = source
        self.queries = tuple(queries)
        source.watch(self.queries)
        self.interval_seconds = interval_seconds
        self.scrapes = 0
        self.failed_scrapes = 0
        self.last_error: str | None = None
        self.last_sample_at: float | None = None
        self._recent: deque[float] = deque(maxlen=_RECENT_SAMPLES)
        self._recorded = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mc-scrape-recorder", daemon=True)

    def start(self) -> ScrapeRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_seconds + DEFAULT_TIMEOUT_SECONDS + 5.0)

    def wait_for_sample(self, at: float, timeout_seconds: float | None = None) -> bool:
        """Wait until a scrape taken at or after wall time `at` is recorded; False on timeout.

        A window judged right after its end may otherwise miss its last points when a
        scrape runs late on a busy machine, and find "no data" for want of them."""
        timeout = (
            timeout_seconds
            if timeout_seconds is not None
            else 2 * self.interval_seconds + DEFAULT_TIMEOUT_SECONDS
        )
        deadline = time.monotonic() + timeout
        with self._recorded:
            while self.last_sample_at is None or self.last_sample_at < at:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._recorded.wait(min(left, self.interval_seconds))
        return True

    def first_sample_at_or_after(self, at: float) -> float | None:
        """The time of the earliest recent scrape taken at or after `at` (None: none yet)."""
        with self._recorded:
            return next((taken for taken in self._recent if taken >= at), None)

    def __enter__(self) -> ScrapeRecorder:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        began = time.monotonic()
        tick = 0
        while not self._stop.is_set():
            try:
                scrape = self.source.record(self.queries)
                self.scrapes += 1
                with self._recorded:
                    self.last_sample_at = scrape.at
                    self._recent.append(scrape.at)
                    self._recorded.notify_all()
            except TargetError as exc:
                self.failed_scrapes += 1
                self.last_error = str(exc)
            tick = max(tick + 1, int((time.monotonic() - began) / self.interval_seconds) + 1)
            delay = began + tick * self.interval_seconds - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
