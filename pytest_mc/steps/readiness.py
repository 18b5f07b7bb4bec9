"""Readiness steps (plan §A.1): each checks the target's readiness record against real traffic.

The record (`readiness show`) must be present and agree with the profile; then real requests
show it holds: the SLO baseline under k6 load, residency (451 outside the jurisdiction, no data
there), the hot-key cache serving hits, the query budget refusing a burst with counted 429s.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pytest_bdd import parsers, then, when

from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.control_models import ReadinessRecord
from pytest_mc.drivers.dataplane import DataPlaneClient, QueryAnswer, statuses
from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_models import K6Load
from pytest_mc.fixtures import McEvidence
from pytest_mc.metrics.source import MetricQuery, MetricSource
from pytest_mc.policy.crosscheck import check_stated
from pytest_mc.policy.verdict import Ratio, Verdict, lower_bound
from pytest_mc.steps.context import ScenarioContext, ScenarioState
from pytest_mc.steps.load import record_k6_run
from pytest_mc.target.profile import TargetProfile

# Stimuli, not policy: how much a step sends. Every threshold comes from the catalog or the
# tenant's readiness record.
K6_VUS = 4
RESIDENCY_PROBE_KEYS = 10
HOT_KEYS = 4
HOT_READ_TTL_PERIODS = 3.0
# A budget low enough that one client's burst exceeds it on any staging; restored afterwards.
BURST_BUDGET_UNITS_PER_SECOND = 20.0
BURST_REQUESTS = 40
LIST_COST_UNITS = 5  # target contract §3: list and ad-hoc cost 5 units


@dataclass(repr=False)
class ReadinessScenario(ScenarioState):
    """What one readiness or backout scenario's steps hand each other."""

    readiness: ReadinessRecord | None = None
    target_counts: dict[str, float] = field(default_factory=dict)
    written: list[QueryAnswer] = field(default_factory=list)
    probes: list[QueryAnswer] = field(default_factory=list)
    hot_reads: list[QueryAnswer] = field(default_factory=list)
    cache_before: dict[str, float] = field(default_factory=dict)
    cache_after: dict[str, float] = field(default_factory=dict)
    ttl_samples: list[dict[str, float]] = field(default_factory=list)
    burst: list[QueryAnswer] = field(default_factory=list)
    burst_region: str = ""
    burst_seconds: float = 0.0
    burst_counters: dict[str, float] = field(default_factory=dict)
    burst_budget_gauge: float | None = None
    original_budget: float | None = None
    budget_restored: bool = False
    denials_before: dict[str, float] = field(default_factory=dict)
    denials_after: dict[str, float] = field(default_factory=dict)


@pytest.fixture
def mc_readiness() -> ReadinessScenario:
    return ReadinessScenario()


@pytest.fixture(scope="session")
def mc_dataplane(mc_profile: TargetProfile) -> Iterator[DataPlaneClient]:
    """Single data-plane requests to the GLB or one region (pytest_mc.drivers.dataplane)."""
    client = DataPlaneClient(mc_profile)
    yield client
    client.close()


# --------------------------------------------------------------------------- helpers


def counter_by(
    metrics: MetricSource, metric: str, tenant: str, by: str, **labels: str
) -> dict[str, float]:
    """`sum by (by) (metric{tenant=..., labels...})` now, as {label value: total}."""
    query = MetricQuery.of(metric, aggregation="sum", by=(by,), tenant=tenant, **labels)
    return {s.labels.get(by, ""): s.value for s in metrics.sample(query).samples}


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0.0) - before.get(k, 0.0) for k in sorted({*after, *before})}


def serving_region(mc_control: ControlClient, tenant: str) -> str:
    """The region carrying most of the tenant's traffic now (effective GLB weights)."""
    status = mc_control.tenant_status(tenant)
    weights = status.glb.weights
    if not weights:
        raise AssertionError(f"tenant {tenant} has no GLB weights: no region serves it")
    return max(sorted(weights), key=lambda region: weights[region])


def attach_json(mc_evidence: McEvidence, name: str, tenant: str, payload: object) -> None:
    body = json.dumps(payload, indent=2, sort_keys=True, default=str).encode()
    mc_evidence.attach(body, name=name, kind="json", tenant=tenant, media_type="application/json")


def readiness_of(
    mc_control: ControlClient, mc_readiness: ReadinessScenario, tenant: str
) -> ReadinessRecord:
    if mc_readiness.readiness is None or mc_readiness.readiness.tenant != tenant:
        mc_readiness.readiness = mc_control.readiness(tenant)
    return mc_readiness.readiness


def hot_key_names(run_id: str, tenant: str) -> list[str]:
    return [f"hot:{run_id}:{tenant}:{index}" for index in range(HOT_KEYS)]


# --------------------------------------------------------------------------- traffic profile, SLO


@then(
    parsers.parse(
        "the readiness record of tenant {tenant} holds a traffic profile and the SLO baseline "
        "of the target profile"
    )
)
def record_has_traffic_profile_and_baseline(
    mc_control: ControlClient,
    mc_profile: TargetProfile,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    tenant: str,
) -> None:
    record = readiness_of(mc_control, mc_readiness, tenant)
    attach_json(mc_evidence, f"readiness-{tenant}.json", tenant, record.model_dump())
    traffic = record.traffic_profile
    assert traffic.peak_rps > 0, f"gate readiness: {tenant} traffic profile has no peak rate"
    assert math.isclose(traffic.read_ratio + traffic.write_ratio, 1.0, abs_tol=1e-6), (
        f"gate readiness: {tenant} traffic profile mix does not add up: read "
        f"{traffic.read_ratio} + write {traffic.write_ratio}"
    )
    expected = mc_profile.tenant(tenant).slo_baseline
    recorded = record.slo_baseline
    assert (recorded.availability, recorded.latency_p95_ms) == (
        expected.availability,
        expected.latency_p95_ms,
    ), (
        f"gate readiness: SLO baseline of {tenant} in the target's readiness record "
        f"({recorded.availability}, p95 {recorded.latency_p95_ms} ms) differs from the target "
        f"profile's ({expected.availability}, p95 {expected.latency_p95_ms} ms)"
    )


@when(parsers.parse("k6 sends {requests:d} requests of tenant {tenant}'s traffic profile"))
def k6_traffic_profile(
    mc_k6: K6Driver,
    mc_control: ControlClient,
    mc_metrics: MetricSource,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    mc_readiness: ReadinessScenario,
    tmp_path_factory: pytest.TempPathFactory,
    requests: int,
    tenant: str,
) -> None:
    record = readiness_of(mc_control, mc_readiness, tenant)
    load = K6Load(
        vus=K6_VUS,
        iterations=requests,
        duration_seconds=max(60.0, requests / 10),
        write_share=record.traffic_profile.write_ratio,
    )
    before = counter_by(mc_metrics, "mc_requests_total", tenant, "persisted")
    result = mc_k6.run(
        tenant, load, work_dir=tmp_path_factory.mktemp("k6"), run_id=mc_evidence.run_id
    )
    after = counter_by(mc_metrics, "mc_requests_total", tenant, "persisted")
    record_k6_run(mc_evidence, mc_context, tenant, result)
    mc_readiness.target_counts = delta(after, before)


@then(parsers.parse("the measured traffic of tenant {tenant} meets its SLO baseline"))
def traffic_meets_baseline(
    mc_profile: TargetProfile,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tenant: str,
) -> None:
    baseline = mc_profile.tenant(tenant).slo_baseline
    summary = mc_context.last_k6.summary
    availability = summary.availability
    bound = lower_bound(availability.events, availability.trials) if availability.trials else 0.0
    point = availability.events / availability.trials if availability.trials else 0.0
    p95 = summary.p95_ms
    attach_json(
        mc_evidence,
        f"slo-baseline-{tenant}.json",
        tenant,
        {
            "tenant": tenant,
            "baseline": baseline.model_dump(),
            "requests": summary.requests,
            "failed_requests": summary.failed_requests,
            "availability_point": point,
            "availability_lower_bound_95": bound,
            "latency_p95_ms": p95,
        },
    )
    assert p95 is not None, f"gate slo_baseline: k6 measured no latency for {tenant}"
    assert p95 <= baseline.latency_p95_ms, (
        f"gate slo_baseline: p95 latency of {tenant} is {p95:.1f} ms, above its baseline "
        f"{baseline.latency_p95_ms:g} ms"
    )
    assert point >= baseline.availability, (
        f"gate slo_baseline: availability of {tenant} is {point:.5f} "
        f"({summary.failed_requests} failed of {summary.requests}), below its baseline "
        f"{baseline.availability}"
    )
    assert bound >= baseline.availability, (
        f"gate slo_baseline: availability of {tenant} inconclusive: {summary.requests} requests "
        f"give a 95% lower bound of {bound:.5f} < {baseline.availability}; send more requests"
    )


@then(
    parsers.parse(
        "the target counted tenant {tenant}'s requests as persisted at least {stated} of the time"
    )
)
def target_counted_persisted(
    mc_evidence: McEvidence, mc_readiness: ReadinessScenario, tenant: str, stated: str
) -> None:
    qi = mc_evidence.catalog.get("persisted_only_compliance")
    check_stated(qi, stated, where="the persisted-only step")
    counts = mc_readiness.target_counts
    persisted = round(counts.get("true", 0.0))
    total = persisted + round(counts.get("false", 0.0))
    judgement = mc_evidence.measure(
        qi.id,
        Ratio(events=persisted, trials=total) if total else None,
        tenant=tenant,
        source="target metrics mc_requests_total{persisted} over the k6 run, all regions",
    )
    assert judgement.verdict == Verdict.PASS, f"gate {qi.id} (target's count): {judgement.reason}"


# --------------------------------------------------------------------------- residency


@when(parsers.parse("tenant {tenant} writes data through the GLB"))
def tenant_writes_data(
    mc_dataplane: DataPlaneClient,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    tenant: str,
) -> None:
    for index in range(RESIDENCY_PROBE_KEYS):
        key = f"residency:{mc_evidence.run_id}:{tenant}:{index}"
        answer = mc_dataplane.put(tenant, key, f"v{index}", op_id=f"op-{uuid.uuid4().hex}")
        assert answer.ok, f"write of {key} for {tenant} through the GLB: {answer.describe()}"
        mc_readiness.written.append(answer)


@when(
    parsers.parse(
        "a write of tenant {tenant} is sent directly to each region outside its jurisdiction"
    )
)
def write_outside_jurisdiction(
    mc_dataplane: DataPlaneClient,
    mc_profile: TargetProfile,
    mc_metrics: MetricSource,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    tenant: str,
) -> None:
    outside = mc_dataplane.regions_outside(mc_profile.tenant(tenant).residency)
    assert outside, (
        f"the target profile has no region outside {tenant}'s jurisdiction: residency cannot "
        "be verified; add one to the staging"
    )
    mc_readiness.denials_before = counter_by(
        mc_metrics, "mc_residency_denials_total", tenant, "region"
    )
    for region in outside:
        key = f"residency:{mc_evidence.run_id}:{tenant}:outside"
        mc_readiness.probes.append(mc_dataplane.put(tenant, key, "must-not-land", via=region))
    mc_readiness.denials_after = counter_by(
        mc_metrics, "mc_residency_denials_total", tenant, "region"
    )


@then(
    parsers.parse(
        "every such write of tenant {tenant} is denied with 451 and counted as a residency denial"
    )
)
def writes_denied_451(
    mc_evidence: McEvidence, mc_readiness: ReadinessScenario, tenant: str
) -> None:
    denials = delta(mc_readiness.denials_after, mc_readiness.denials_before)
    answers = {answer.via: answer.describe() for answer in mc_readiness.probes}
    attach_json(
        mc_evidence,
        f"residency-denials-{tenant}.json",
        tenant,
        {"answers": answers, "denials_counted": denials},
    )
    for answer in mc_readiness.probes:
        assert (answer.status, answer.error) == (451, "residency_denied"), (
            f"gate residency: a write sent to {answer.via}, outside the tenant's jurisdiction, "
            f"was answered {answer.describe()}; expected 451 residency_denied"
        )
        assert denials.get(answer.via, 0.0) >= 1, (
            f"gate residency: {answer.via} denied the write but mc_residency_denials_total did "
            f"not count it (delta {denials.get(answer.via, 0.0):g})"
        )


@then(parsers.parse("none of tenant {tenant}'s data is found in a region outside its jurisdiction"))
def no_data_outside(
    mc_dataplane: DataPlaneClient,
    mc_profile: TargetProfile,
    mc_metrics: MetricSource,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    tenant: str,
) -> None:
    keys = [a.entity.key for a in mc_readiness.written if a.entity is not None]
    assert keys, "no data of the tenant was written in this scenario: write some first"
    home = [mc_dataplane.get(tenant, key) for key in keys]
    missing = [a.describe() for a in home if not a.ok]
    assert not missing, f"the tenant's own data is not served through the GLB: {missing[:3]}"
    outside = mc_dataplane.regions_outside(mc_profile.tenant(tenant).residency)
    found: list[str] = []
    reads = 0
    for region in outside:
        for key in keys:
            answer = mc_dataplane.get(tenant, key, via=region)
            reads += 1
            if answer.ok:
                found.append(f"{key} in {region}")
        listing = mc_dataplane.list_keys(tenant, via=region)
        reads += 1
        if listing.ok and listing.keys:
            found.append(f"{len(listing.keys)} keys listed in {region}")
    violations = counter_by(mc_metrics, "mc_residency_violations_total", tenant, "region")
    in_outside = sum(violations.get(region, 0.0) for region in outside)
    attach_json(
        mc_evidence,
        f"residency-data-{tenant}.json",
        tenant,
        {"regions_outside": outside, "keys": keys, "found": found, "violations": violations},
    )
    judgement = mc_evidence.measure(
        "privacy_violations",
        in_outside + len(found),
        tenant=tenant,
        samples=reads,
        source="direct reads in out-of-jurisdiction regions + mc_residency_violations_total",
    )
    assert not found, (
        f"gate privacy_violations: {tenant}'s data found outside its jurisdiction: {found}"
    )
    assert judgement.verdict == Verdict.PASS, f"gate privacy_violations: {judgement.reason}"


# --------------------------------------------------------------------------- data volume, cache


@then(
    parsers.parse(
        "the readiness record of tenant {tenant} holds a data volume and a hot-key cache plan"
    )
)
def record_has_volume_and_cache_plan(
    mc_control: ControlClient,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    tenant: str,
) -> None:
    record = readiness_of(mc_control, mc_readiness, tenant)
    attach_json(mc_evidence, f"readiness-{tenant}.json", tenant, record.model_dump())
    volume = record.data_volume
    assert volume, f"gate readiness: {tenant} has no data volume estimate"
    assert all(v > 0 for v in volume.values()), (
        f"gate readiness: {tenant}'s data volume estimate is not positive: {volume}"
    )
    plan = record.hot_key_cache_plan
    assert plan.base_ttl_seconds > 0, (
        f"gate readiness: {tenant}'s hot-key cache plan has no TTL: {plan.model_dump()}"
    )


def read_hot_keys(
    mc_dataplane: DataPlaneClient,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    mc_metrics: MetricSource,
    record: ReadinessRecord,
    tenant: str,
) -> None:
    """Write the hot keys, then read them in rounds for a few cache TTL periods (wall time:
    cache TTLs are physical), sampling the cache counters and the TTL gauge of every region
    that served them."""
    keys = hot_key_names(mc_evidence.run_id, tenant)
    for key in keys:
        answer = mc_dataplane.put(tenant, key, "hot", op_id=f"op-{uuid.uuid4().hex}")
        assert answer.ok, f"write of hot key {key} for {tenant}: {answer.describe()}"
    mc_readiness.cache_before = counter_by(mc_metrics, "mc_cache_requests_total", tenant, "result")
    mc_readiness.hot_reads = []
    mc_readiness.ttl_samples = []
    period = record.hot_key_cache_plan.base_ttl_seconds
    deadline = time.monotonic() + HOT_READ_TTL_PERIODS * period
    while True:
        for key in keys:
            answer = mc_dataplane.get(tenant, key)
            assert answer.ok, f"read of hot key {key} for {tenant}: {answer.describe()}"
            mc_readiness.hot_reads.append(answer)
        served = sorted({a.served_by for a in mc_readiness.hot_reads if a.served_by})
        ttl = counter_by(mc_metrics, "mc_cache_ttl_seconds", tenant, "region")
        mc_readiness.ttl_samples.append({r: ttl[r] for r in served if r in ttl})
        if time.monotonic() >= deadline:
            break
    mc_readiness.cache_after = counter_by(mc_metrics, "mc_cache_requests_total", tenant, "result")


@when(parsers.parse("the hot keys of tenant {tenant} are read repeatedly past their cache TTL"))
def hot_keys_read(
    mc_dataplane: DataPlaneClient,
    mc_control: ControlClient,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    mc_metrics: MetricSource,
    tenant: str,
) -> None:
    record = readiness_of(mc_control, mc_readiness, tenant)
    read_hot_keys(mc_dataplane, mc_evidence, mc_readiness, mc_metrics, record, tenant)


@then(parsers.parse("the cache serves most reads of tenant {tenant}'s hot keys as hits"))
def cache_serves_hits(
    mc_evidence: McEvidence, mc_readiness: ReadinessScenario, tenant: str
) -> None:
    counted = delta(mc_readiness.cache_after, mc_readiness.cache_before)
    hits, misses = counted.get("hit", 0.0), counted.get("miss", 0.0)
    reads = len(mc_readiness.hot_reads)
    attach_json(
        mc_evidence,
        f"hot-key-cache-{tenant}.json",
        tenant,
        {"hot_reads": reads, "cache_hits": hits, "cache_misses": misses},
    )
    assert hits + misses >= reads, (
        f"gate hot-key cache: {reads} hot-key reads of {tenant} but mc_cache_requests_total "
        f"counted only {hits + misses:g}"
    )
    assert hits > misses, (
        f"gate hot-key cache: of {reads} reads of {tenant}'s hot keys the cache served "
        f"{hits:g} hits and {misses:g} misses; hot keys should mostly hit"
    )


# --------------------------------------------------------------------------- query budgets


@then(parsers.parse("the readiness record of tenant {tenant} sets a query budget"))
def record_sets_budget(
    mc_control: ControlClient,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    tenant: str,
) -> None:
    record = readiness_of(mc_control, mc_readiness, tenant)
    budget = record.query_budgets.units_per_second
    assert budget > 0, f"gate readiness: {tenant} has no query budget ({budget})"


@when(
    parsers.parse(
        "a burst past a lowered query budget of tenant {tenant} is sent to its serving region"
    )
)
def burst_past_budget(
    request: pytest.FixtureRequest,
    mc_control: ControlClient,
    mc_dataplane: DataPlaneClient,
    mc_metrics: MetricSource,
    mc_readiness: ReadinessScenario,
    tenant: str,
) -> None:
    original = readiness_of(mc_control, mc_readiness, tenant).query_budgets.units_per_second
    mc_readiness.original_budget = original

    def restore() -> None:  # also when a later step failed: scenarios stay independent
        if not mc_readiness.budget_restored:
            mc_control.set_query_budget(tenant, original)

    request.addfinalizer(restore)
    region = serving_region(mc_control, tenant)
    mc_readiness.burst_region = region
    lowered = min(original, BURST_BUDGET_UNITS_PER_SECOND)
    mc_control.set_query_budget(tenant, lowered)
    gauge = MetricQuery.of("mc_query_budget_units_per_second", tenant=tenant, region=region)
    applied_by = time.monotonic() + 10.0
    while mc_metrics.sample(gauge).single() != lowered and time.monotonic() < applied_by:
        time.sleep(0.1)  # the control plane pushes the budget to the region asynchronously
    mc_readiness.burst_budget_gauge = mc_metrics.sample(gauge).single()
    names = ("mc_query_budget_rejections_total", "mc_cost_units_total")
    before = {n: counter_by(mc_metrics, n, tenant, "region").get(region, 0.0) for n in names}
    started = time.monotonic()
    mc_readiness.burst = [
        mc_dataplane.list_keys(tenant, via=region, limit=1) for _ in range(BURST_REQUESTS)
    ]
    mc_readiness.burst_seconds = time.monotonic() - started
    after = {n: counter_by(mc_metrics, n, tenant, "region").get(region, 0.0) for n in names}
    mc_readiness.burst_counters = {n: after[n] - before[n] for n in names}
    mc_readiness.burst_counters["budget_units_per_second"] = lowered


@then(
    parsers.parse(
        "the region refused the excess of tenant {tenant} with 429 and counted every refusal"
    )
)
def budget_enforced(mc_evidence: McEvidence, mc_readiness: ReadinessScenario, tenant: str) -> None:
    burst = mc_readiness.burst
    counters = mc_readiness.burst_counters
    budget = counters["budget_units_per_second"]
    refused = [a for a in burst if a.status == 429]
    served = [a for a in burst if a.ok]
    # Token bucket with one second of burst: at most budget x (elapsed + 1 s) units pass.
    allowed_units = budget * (mc_readiness.burst_seconds + 1.0)
    attach_json(
        mc_evidence,
        f"query-budget-{tenant}.json",
        tenant,
        {
            "region": mc_readiness.burst_region,
            "budget_units_per_second": budget,
            "budget_gauge": mc_readiness.burst_budget_gauge,
            "requests": len(burst),
            "answers": statuses(burst),
            "burst_wall_seconds": mc_readiness.burst_seconds,
            "counted_rejections": counters["mc_query_budget_rejections_total"],
            "counted_cost_units": counters["mc_cost_units_total"],
            "allowed_cost_units": allowed_units,
        },
    )
    assert mc_readiness.burst_budget_gauge == budget, (
        f"gate query budget: {mc_readiness.burst_region} reports a budget of "
        f"{mc_readiness.burst_budget_gauge} for {tenant} after it was set to {budget:g}"
    )
    assert refused, (
        f"gate query budget: {len(burst)} list queries ({len(burst) * LIST_COST_UNITS} units) "
        f"in {mc_readiness.burst_seconds:.2f} s past a budget of {budget:g} units/s got no 429 "
        f"from {mc_readiness.burst_region}: {statuses(burst)}"
    )
    assert served, f"gate query budget: nothing within the budget was served: {statuses(burst)}"
    assert counters["mc_query_budget_rejections_total"] == len(refused), (
        f"gate query budget: {len(refused)} requests answered 429 but "
        f"mc_query_budget_rejections_total counted {counters['mc_query_budget_rejections_total']:g}"
    )
    assert counters["mc_cost_units_total"] <= allowed_units, (
        f"gate query budget: {counters['mc_cost_units_total']:g} cost units passed in "
        f"{mc_readiness.burst_seconds:.2f} s, more than the budget allows ({allowed_units:.0f})"
    )


@then(parsers.parse("the query budget of tenant {tenant} is restored"))
def budget_restored(
    mc_control: ControlClient, mc_readiness: ReadinessScenario, tenant: str
) -> None:
    original = mc_readiness.original_budget
    assert original is not None, "no query budget was lowered in this scenario"
    restored = mc_control.set_query_budget(tenant, original).query_budgets.units_per_second
    mc_readiness.budget_restored = True
    now = mc_control.readiness(tenant).query_budgets.units_per_second
    assert restored == now == original, (
        f"query budget of {tenant} is {now:g} after restoring it to {original:g}"
    )


# --------------------------------------------------------------------------- DR enrolment


@then(parsers.parse("tenant {tenant} is enrolled in the monthly DR drill schedule in JSON"))
def dr_enrolled(
    mc_control: ControlClient,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    tenant: str,
) -> None:
    status = mc_control.dr_status(tenant)
    enrolment = status.enrolment.get(tenant)
    attach_json(
        mc_evidence,
        f"dr-enrolment-{tenant}.json",
        tenant,
        {t: e.model_dump() for t, e in status.enrolment.items()},
    )
    assert enrolment is not None, f"gate readiness: {tenant} is not in the DR drill enrolment"
    got = (enrolment.status, enrolment.schedule, enrolment.format)
    assert got == ("enrolled", "monthly", "json"), (
        f"gate readiness: DR drill enrolment of {tenant} is status {got[0]!r}, schedule "
        f"{got[1]!r}, format {got[2]!r}; the plan needs enrolled, monthly, json"
    )
    record = readiness_of(mc_control, mc_readiness, tenant)
    assert record.dr_enrolment == enrolment, (
        f"gate readiness: {tenant}'s readiness record says {record.dr_enrolment.model_dump()} "
        f"but `dr status` says {enrolment.model_dump()}"
    )
