"""The numbers a bake measures from the target's metrics, and the verdicts judged from them.

Per slice (docs/target-contract.md §4, all per tenant): worst replication lag
(`mc_tenant_replication_lag_seconds`, wall → plan), conflicts over writes
(`mc_replication_conflicts_total` / `mc_writes_total`), residency violations
(`mc_residency_violations_total`), cost budget consumed (`mc_cost_budget_consumed_ratio`),
and for the daily SLO verdict the GLB's requests, 5xx answers and latency histogram
(`mc_glb_requests_total`, `mc_glb_request_duration_seconds_*`). Counters are read as
increases over the slice's plan-time window; a labelled counter that has no series yet (no
5xx ever answered) counts 0 once the tenant's requests are measured. The gate metrics are the
stage holds' own (`drivers.gates.gate_queries`, their one home).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pytest_mc.bake.plan import GateTotals
from pytest_mc.drivers.gates import gate_queries
from pytest_mc.evidence.records import CategoryVerdict, MeasurementWindow, SliceGates
from pytest_mc.metrics.evaluator import WindowEvaluator, WindowResult
from pytest_mc.metrics.source import LabelMatcher, MetricQuery, MetricSource
from pytest_mc.policy.verdict import Judgement, Ratio, Verdict
from pytest_mc.target.profile import SloBaseline

SLICE_GATES = ("replication_lag", "conflict_rate", "privacy_violations", "budget_utilization")
LATENCY_QUANTILE = 0.95
_HISTOGRAM = "mc_glb_request_duration_seconds"
CategoryName = Literal["slo", "cost", "privacy"]


@dataclass(frozen=True)
class TenantQueries:
    """The metric queries of one tenant's bake."""

    tenant: str
    lag: MetricQuery
    conflicts: MetricQuery
    writes: MetricQuery
    violations: MetricQuery
    budget: MetricQuery
    requests: MetricQuery
    server_errors: MetricQuery
    latency_count: MetricQuery
    latency_within: MetricQuery | None
    latency_bound_seconds: float | None

    @property
    def all(self) -> tuple[MetricQuery, ...]:
        found = (
            self.lag,
            self.conflicts,
            self.writes,
            self.violations,
            self.budget,
            self.requests,
            self.server_errors,
            self.latency_count,
        )
        return found + ((self.latency_within,) if self.latency_within is not None else ())


def latency_bucket(source: MetricSource, tenant: str, bound_seconds: float) -> str | None:
    """The `le` of the widest histogram bucket within `bound_seconds` (None: no such bucket).

    When at least 95% of requests fall in a bucket no wider than the baseline, the p95 is
    within the baseline; a bucket narrower than the baseline only makes the check stricter.
    """
    answer = source.sample(MetricQuery.of(f"{_HISTOGRAM}_bucket", tenant=tenant))
    best: tuple[float, str] | None = None
    for sample in answer.samples:
        text = sample.labels.get("le", "")
        try:
            upper = float(text)
        except ValueError:
            continue
        if upper <= bound_seconds + 1e-12 and (best is None or upper > best[0]):
            best = (upper, text)
    return None if best is None else best[1]


def tenant_queries(source: MetricSource, tenant: str, baseline: SloBaseline) -> TenantQueries:
    bound = baseline.latency_p95_ms / 1000.0
    le = latency_bucket(source, tenant, bound)
    contract = gate_queries(tenant)
    return TenantQueries(
        tenant=tenant,
        lag=contract.lag,
        conflicts=contract.conflicts,
        writes=contract.writes,
        violations=contract.violations,
        budget=contract.budget,
        requests=MetricQuery.of("mc_glb_requests_total", tenant=tenant),
        server_errors=MetricQuery(
            metric="mc_glb_requests_total",
            matchers=(
                LabelMatcher(label="tenant", value=tenant),
                LabelMatcher(label="code", op="=~", value="5.."),
            ),
        ),
        latency_count=MetricQuery.of(f"{_HISTOGRAM}_count", tenant=tenant),
        latency_within=(
            None if le is None else MetricQuery.of(f"{_HISTOGRAM}_bucket", tenant=tenant, le=le)
        ),
        latency_bound_seconds=None if le is None else float(le),
    )


def _count(result: WindowResult, *, zero_when_absent: bool) -> int | None:
    if result.increase is not None:
        return round(result.increase)
    if result.series == 0 and zero_when_absent:
        return 0
    return None


def measure_slice(
    evaluator: WindowEvaluator, queries: TenantQueries, *, plan_seconds: float, end: float
) -> tuple[SliceGates, int]:
    """The numbers of the slice ending at wall time `end`, and how many lag samples they rest on."""

    def increase(query: MetricQuery, *, zero_when_absent: bool) -> int | None:
        result = evaluator.rate(query, window_plan_seconds=plan_seconds, at=end)
        return _count(result, zero_when_absent=zero_when_absent)

    requests = increase(queries.requests, zero_when_absent=False)
    measured = requests is not None
    lag = evaluator.statistic(
        queries.lag,
        statistic="max",
        window_plan_seconds=plan_seconds,
        values="wall_seconds",
        at=end,
    )
    budget = evaluator.statistic(
        queries.budget, statistic="max", window_plan_seconds=plan_seconds, at=end
    )
    within = (
        increase(queries.latency_within, zero_when_absent=measured)
        if queries.latency_within is not None
        else None
    )
    gates = SliceGates(
        requests=requests,
        server_errors=increase(queries.server_errors, zero_when_absent=measured),
        latency_bound_seconds=queries.latency_bound_seconds,
        latency_within_bound=within,
        latency_count=(
            None if within is None else increase(queries.latency_count, zero_when_absent=False)
        ),
        max_lag_seconds=lag.value,
        conflicts=increase(queries.conflicts, zero_when_absent=measured),
        writes=increase(queries.writes, zero_when_absent=measured),
        privacy_violations=increase(queries.violations, zero_when_absent=measured),
        max_budget_consumed=budget.value,
    )
    return gates, lag.samples


def conflict_ratio(conflicts: int | None, writes: int | None) -> Ratio | None:
    """Conflicts over writes; each side of a conflict counts (as the target's tripwire does),
    so more conflicts than writes is capped at all writes rather than refused."""
    if conflicts is None or writes is None:
        return None
    return Ratio(events=min(conflicts, writes), trials=writes)


def worst(verdicts: Sequence[Verdict]) -> Verdict:
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.INCONCLUSIVE in verdicts or not verdicts:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS


def slo_regressions(totals: GateTotals, baseline: SloBaseline) -> tuple[int | None, str]:
    """How many of the tenant's SLIs (availability, p95 latency) fell below its baseline."""
    if "requests" in totals.missing or totals.requests == 0:
        return None, "no requests measured: availability and latency cannot be judged"
    if "server_errors" in totals.missing or "latency" in totals.missing:
        return None, "5xx answers or latency missing for part of the day"
    if totals.latency_count == 0 or totals.latency_bound_seconds is None:
        return None, (
            f"no latency histogram bucket within the {baseline.latency_p95_ms:g} ms baseline"
        )
    availability = 1.0 - totals.server_errors / totals.requests
    within = totals.latency_within_bound / totals.latency_count
    regressions = int(availability < baseline.availability) + int(within < LATENCY_QUANTILE)
    detail = (
        f"availability {availability:.5f} vs baseline {baseline.availability:g} "
        f"({totals.server_errors:,} 5xx of {totals.requests:,} requests); "
        f"{within:.2%} of requests within {totals.latency_bound_seconds * 1000:g} ms "
        f"(p95 baseline {baseline.latency_p95_ms:g} ms needs >= 95%)"
    )
    return regressions, detail


def category(
    name: CategoryName, judgements: Sequence[Judgement], detail: str | None = None
) -> CategoryVerdict:
    """One green condition of a day: the worst verdict of its measurements, with reasons."""
    reasons = ((detail,) if detail else ()) + tuple(f"{j.qi_id}: {j.reason}" for j in judgements)
    return CategoryVerdict(
        category=name,
        verdict=worst([j.verdict for j in judgements]),
        qi_ids=tuple(j.qi_id for j in judgements),
        reasons=reasons,
    )


def window_of(plan_seconds: float, start: float, end: float) -> MeasurementWindow:
    """A measurement window from wall epoch bounds and its plan-time length."""
    return MeasurementWindow(
        start=datetime.fromtimestamp(start, UTC),
        end=datetime.fromtimestamp(end, UTC),
        plan_seconds=plan_seconds,
    )
