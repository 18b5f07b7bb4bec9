"""The one interface behind every metric source, and the small query model both sources speak.

A `MetricQuery` is a metric name, label matchers and an optional aggregation (sum/max/min by
labels): enough for every metric of the target contract (§4), small enough that the scrape
source evaluates it on parsed text and the Prometheus source translates it to PromQL. A source
answers a query at an instant (`sample`, `sample_many`) and over a window (`series`); the
windowed evaluator only ever calls those. Timestamps are Unix epoch WALL seconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_STRICT = ConfigDict(extra="forbid", frozen=True)
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

MatchOp = Literal["=", "!=", "=~", "!~"]
Aggregation = Literal["sum", "max", "min"]
SourceName = Literal["scrape", "prometheus", "recorded"]


class LabelMatcher(BaseModel):
    """One label condition, with PromQL's meaning: regexes are anchored, a missing label is ''."""

    model_config = _STRICT
    label: str = Field(pattern=_LABEL.pattern)
    op: MatchOp = "="
    value: str

    @model_validator(mode="after")
    def _regex_compiles(self) -> LabelMatcher:
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"matcher {self.label}{self.op}{self.value!r}: {exc}") from exc
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found

    def promql(self) -> str:
        return f'{self.label}{self.op}"{escape_label_value(self.value)}"'


class MetricQuery(BaseModel):
    """Metric name + label matchers + optional aggregation: the query both sources answer.

    ``MetricQuery(metric="mc_replication_lag_seconds", matchers=(...), aggregation="max")``
    is ``max(mc_replication_lag_seconds{tenant="TENANT_001"})`` in PromQL.
    """

    model_config = _STRICT
    metric: str = Field(pattern=_NAME.pattern)
    matchers: tuple[LabelMatcher, ...] = ()
    aggregation: Aggregation | None = None
    by: tuple[str, ...] = ()

    @field_validator("by")
    @classmethod
    def _labels_are_names(cls, by: tuple[str, ...]) -> tuple[str, ...]:
        for label in by:
            if _LABEL.fullmatch(label) is None:
                raise ValueError(f"'by' names {label!r}, which is not a label name")
        return tuple(sorted(set(by)))

    @model_validator(mode="after")
    def _by_needs_aggregation(self) -> MetricQuery:
        if self.by and self.aggregation is None:
            raise ValueError(f"'by' {list(self.by)} needs an aggregation (sum, max or min)")
        return self

    @classmethod
    def of(
        cls,
        metric: str,
        *,
        aggregation: Aggregation | None = None,
        by: Iterable[str] = (),
        **labels: str,
    ) -> MetricQuery:
        """Equality matchers in short: ``MetricQuery.of("m", aggregation="max", tenant="T")``."""
        matchers = tuple(LabelMatcher(label=k, value=v) for k, v in sorted(labels.items()))
        return cls(metric=metric, matchers=matchers, aggregation=aggregation, by=tuple(by))

    def selector(self) -> MetricQuery:
        """The same query without its aggregation: the raw series a counter is read from."""
        return self.model_copy(update={"aggregation": None, "by": ()})

    def selects(self, name: str, labels: dict[str, str]) -> bool:
        return name == self.metric and all(m.matches(labels) for m in self.matchers)

    def promql(self) -> str:
        """The PromQL text of this query; also its identity in the sample store."""
        selector = self.metric
        if self.matchers:
            selector += "{" + ",".join(m.promql() for m in self.matchers) + "}"
        if self.aggregation is None:
            return selector
        grouping = f" by ({','.join(self.by)})" if self.by else ""
        return f"{self.aggregation}{grouping} ({selector})"


class Sample(BaseModel):
    """One value of one series at one instant."""

    model_config = _STRICT
    labels: dict[str, str] = Field(default_factory=dict)
    value: float


class InstantVector(BaseModel):
    """A query's answer at one instant: one sample per resulting series."""

    model_config = _STRICT
    query: str
    at: float = Field(description="Unix epoch wall seconds")
    source: SourceName
    samples: tuple[Sample, ...]

    def single(self) -> float | None:
        """The value of a query that yields at most one series (None when it yields none)."""
        if len(self.samples) > 1:
            raise ValueError(
                f"query {self.query} yields {len(self.samples)} series; aggregate it or add "
                f"label matchers so it yields one"
            )
        return self.samples[0].value if self.samples else None


class Series(BaseModel):
    """One series over a window: (wall timestamp, value) points in time order."""

    model_config = _STRICT
    labels: dict[str, str] = Field(default_factory=dict)
    points: tuple[tuple[float, float], ...]


class RangeResult(BaseModel):
    """A query's series over ``[start, end]`` (wall epoch seconds)."""

    model_config = _STRICT
    query: str
    start: float
    end: float
    source: SourceName
    series: tuple[Series, ...]


@runtime_checkable
class MetricSource(Protocol):
    """Where metrics come from: direct scrapes of `/metrics` or a Prometheus server."""

    @property
    def name(self) -> SourceName: ...

    def sample(self, query: MetricQuery) -> InstantVector:
        """The query's value now."""
        ...

    def sample_many(self, queries: Sequence[MetricQuery]) -> tuple[InstantVector, ...]:
        """Several queries answered at the same instant (one scrape, or one PromQL `time`)."""
        ...

    def series(
        self, query: MetricQuery, start: float, end: float, step: float | None = None
    ) -> RangeResult:
        """The query's series over ``[start, end]``; ``step`` is a hint (wall seconds)."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def escape_label_value(value: str) -> str:
    """Escape a label value for PromQL and the text exposition format."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def series_key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A hashable, order-independent identity for a label set."""
    return tuple(sorted(labels.items()))


def _max(values: list[float]) -> float:
    return max(values)


def _min(values: list[float]) -> float:
    return min(values)


_COMBINE: dict[Aggregation, Callable[[list[float]], float]] = {
    "sum": math.fsum,
    "max": _max,
    "min": _min,
}


def aggregate(query: MetricQuery, selected: Sequence[Sample]) -> tuple[Sample, ...]:
    """Apply the query's aggregation to the samples it selected (PromQL semantics).

    Without an aggregation the samples are returned as they are. With one, the result has one
    sample per distinct value of the ``by`` labels (one sample in all when ``by`` is empty),
    labelled with the ``by`` labels only; no selected samples means no result at all.
    """
    if query.aggregation is None:
        return tuple(selected)
    groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for sample in selected:
        group = tuple((label, sample.labels.get(label, "")) for label in query.by)
        groups.setdefault(group, []).append(sample.value)
    combine = _COMBINE[query.aggregation]
    return tuple(
        Sample(labels={k: v for k, v in group if v != ""}, value=float(combine(values)))
        for group, values in sorted(groups.items())
    )
