"""Fixtures shared by the unit tests of every layer."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import pytest

from pytest_mc.metrics.source import InstantVector, MetricQuery, Sample

# what a fake metric source answers for one instant query: a value, or None for no sample
Answer = Callable[[MetricQuery], float | None]


class AnsweringSource:
    """A metric source whose instant answers come from a function of the query, so a test
    states the target's metrics as it moves them; it has no range queries."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    @property
    def name(self) -> Literal["recorded"]:
        return "recorded"

    def sample(self, query: MetricQuery) -> InstantVector:
        value = self.answer(query)
        samples = () if value is None else (Sample(value=value),)
        return InstantVector(
            query=query.promql(), at=time.time(), source="recorded", samples=samples
        )

    def sample_many(self, queries: Sequence[MetricQuery]) -> tuple[InstantVector, ...]:
        return tuple(self.sample(query) for query in queries)

    def series(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the answering source has no range queries")

    def close(self) -> None:
        pass


@pytest.fixture
def answering_source() -> Callable[[Answer], AnsweringSource]:
    """Build a fake metric source from an answer function (see `AnsweringSource`)."""
    return AnsweringSource
