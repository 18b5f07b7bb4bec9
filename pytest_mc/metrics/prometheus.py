"""The `prometheus` metric source: PromQL over a Prometheus server's HTTP API.

The query model is translated to PromQL (`MetricQuery.promql`); instants go to
`/api/v1/query`, windows to `/api/v1/query_range` at the profile's sample interval, split
into chunks below Prometheus' 11,000-points-per-series limit. Window arithmetic (sustained,
increase, ratios, burn) is NOT done in PromQL but by the same evaluator code the scrape source
feeds, so both sources judge the same points the same way. The labels Prometheus adds to every
target (`job`, `instance`) and `__name__` are dropped so results look like direct scrapes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from pytest_mc.errors import InputError, UnreachableError
from pytest_mc.metrics.source import (
    InstantVector,
    LabelMatcher,
    MetricQuery,
    RangeResult,
    Sample,
    Series,
    SourceName,
)

DEFAULT_TIMEOUT_SECONDS = 10.0
# Prometheus refuses a range query that would return more than 11,000 points per series.
MAX_POINTS_PER_REQUEST = 10_000
TARGET_LABELS = frozenset({"__name__", "job", "instance"})

# Wire models of Prometheus' API. They ignore unknown keys on purpose: newer servers add
# fields (histograms, infos) that this source does not read, and must not break it.
_WIRE = ConfigDict(extra="ignore", frozen=True)


class _PromSeries(BaseModel):
    model_config = _WIRE
    metric: dict[str, str] = {}
    value: tuple[float, str] | None = None
    values: tuple[tuple[float, str], ...] = ()


class _PromData(BaseModel):
    model_config = _WIRE
    resultType: Literal["vector", "matrix", "scalar", "string"]
    result: tuple[_PromSeries, ...] | tuple[float, str]


class _PromResponse(BaseModel):
    model_config = _WIRE
    status: Literal["success", "error"]
    data: _PromData | None = None
    errorType: str | None = None
    error: str | None = None


def _number(text: str) -> float:
    special = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}.get(text)
    return special if special is not None else float(text)


def _labels(metric: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in metric.items() if k not in TARGET_LABELS}


class PrometheusSource:
    """`MetricSource` over a Prometheus server (`metrics.prometheus_url` in the profile).

    ``extra_matchers`` are added to every selector, e.g. ``job="mc-staging"`` when the server
    also scrapes other copies of the same metrics.
    """

    def __init__(
        self,
        base_url: str,
        *,
        step_seconds: float,
        extra_matchers: Sequence[LabelMatcher] = (),
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if step_seconds <= 0:
            raise InputError(f"the Prometheus step must be > 0 seconds, not {step_seconds!r}")
        self.base_url = base_url.rstrip("/")
        self.step_seconds = step_seconds
        self.extra_matchers = tuple(extra_matchers)
        self._clock = clock
        self._client = httpx.Client(
            base_url=self.base_url, timeout=timeout_seconds, transport=transport
        )

    @property
    def name(self) -> SourceName:
        return "prometheus"

    def promql(self, query: MetricQuery) -> str:
        """The PromQL sent for ``query`` (with this source's extra matchers)."""
        if self.extra_matchers:
            query = query.model_copy(update={"matchers": query.matchers + self.extra_matchers})
        return query.promql()

    def _get(self, path: str, params: dict[str, str]) -> _PromData:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise UnreachableError(
                f"Prometheus at {self.base_url} does not answer ({type(exc).__name__}: {exc}); "
                f"check metrics.prometheus_url in the profile"
            ) from exc
        try:
            body = _PromResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise UnreachableError(
                f"{self.base_url}{path} answered HTTP {response.status_code} with something "
                f"that is not a Prometheus API response; is metrics.prometheus_url a Prometheus?"
            ) from exc
        if body.status == "error" or body.data is None:
            where = f"{self.base_url}{path} query {params.get('query', '')!r}"
            if response.status_code in (400, 422):
                raise InputError(f"Prometheus refused {where}: {body.errorType}: {body.error}")
            raise UnreachableError(
                f"Prometheus failed {where}: HTTP {response.status_code} {body.errorType}: "
                f"{body.error}"
            )
        return body.data

    def sample(self, query: MetricQuery) -> InstantVector:
        return self.sample_many([query])[0]

    def sample_many(self, queries: Sequence[MetricQuery]) -> tuple[InstantVector, ...]:
        """Every query evaluated at the same ``time``, like one scrape answers many queries."""
        at = self._clock()
        answers: list[InstantVector] = []
        for query in queries:
            data = self._get("/api/v1/query", {"query": self.promql(query), "time": repr(at)})
            samples: list[Sample] = []
            if data.resultType == "vector" and isinstance(data.result, tuple):
                for item in data.result:
                    if isinstance(item, _PromSeries) and item.value is not None:
                        samples.append(
                            Sample(labels=_labels(item.metric), value=_number(item.value[1]))
                        )
            answers.append(
                InstantVector(
                    query=query.promql(), at=at, source="prometheus", samples=tuple(samples)
                )
            )
        return tuple(answers)

    def series(
        self, query: MetricQuery, start: float, end: float, step: float | None = None
    ) -> RangeResult:
        """``query`` over ``[start, end]`` at ``step`` (default: the source's step)."""
        step = step or self.step_seconds
        text = self.promql(query)
        merged: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        chunk_start = start
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + step * (MAX_POINTS_PER_REQUEST - 1))
            data = self._get(
                "/api/v1/query_range",
                {
                    "query": text,
                    "start": repr(chunk_start),
                    "end": repr(chunk_end),
                    "step": repr(step),
                },
            )
            if isinstance(data.result, tuple):
                for item in data.result:
                    if not isinstance(item, _PromSeries):
                        continue
                    key = tuple(sorted(_labels(item.metric).items()))
                    points = merged.setdefault(key, [])
                    points.extend((at, _number(value)) for at, value in item.values)
            chunk_start = chunk_end + step
        series = tuple(
            Series(labels=dict(key), points=tuple(sorted(points)))
            for key, points in sorted(merged.items())
        )
        return RangeResult(
            query=query.promql(), start=start, end=end, source="prometheus", series=series
        )

    def close(self) -> None:
        self._client.close()
