"""Backout steps (plan §A.4): back a tenant out through the control CLI, then show the effect
on real requests: GLB bias, TTL auto-tune off, persisted-only kept, idempotent op replay,
provenance preserved. Every backout registers its own undo, so scenarios stay independent
even when a step fails.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise

import pytest
import rfc8785
from pytest_bdd import given, parsers, then, when

from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.control_models import ProvenanceLog, ReplayResult
from pytest_mc.drivers.dataplane import GLB, DataPlaneClient, QueryAnswer, statuses
from pytest_mc.fixtures import McEvidence
from pytest_mc.metrics.source import MetricSource
from pytest_mc.steps.context import ScenarioState
from pytest_mc.steps.readiness import (
    ReadinessScenario,
    attach_json,
    counter_by,
    delta,
    serving_region,
)
from pytest_mc.target.profile import TargetProfile

ROUTED_REQUESTS = 30
REPLAYED_VALUE = "replayed"  # differs from every value written, so a re-applied write shows
PROVENANCE_LIMIT = 1_000_000  # the whole log: "not shorter" needs every record


@dataclass(repr=False)
class BackoutScenario(ScenarioState):
    """What one backout scenario's steps hand each other."""

    tenant: str | None = None
    biased_to: str | None = None
    weights_before: dict[str, float] = field(default_factory=dict)
    ttl_disabled: bool = False
    commands: int = 0
    routed: list[QueryAnswer] = field(default_factory=list)
    routed_counts: dict[str, float] = field(default_factory=dict)
    adhoc: list[QueryAnswer] = field(default_factory=list)
    adhoc_counted: dict[str, float] = field(default_factory=dict)
    replays: list[ReplayResult] = field(default_factory=list)
    versions_between: dict[str, int | None] = field(default_factory=dict)
    versions_after: dict[str, int | None] = field(default_factory=dict)
    provenance_before: ProvenanceLog | None = None
    provenance_before_canonical: list[bytes] = field(default_factory=list)


@pytest.fixture
def mc_backout(mc_control: ControlClient) -> Iterator[BackoutScenario]:
    """The scenario's backout state; whatever is still backed out at the end is undone."""
    state = BackoutScenario()
    yield state
    if state.tenant is not None:
        _undo(mc_control, state, state.tenant)


def _undo(mc_control: ControlClient, state: BackoutScenario, tenant: str) -> None:
    if state.biased_to is not None:
        mc_control.glb_unbias(tenant)
        state.biased_to = None
        state.commands += 1
    if state.ttl_disabled:
        mc_control.set_flag(tenant, "ttl-autotune", True)
        state.ttl_disabled = False
        state.commands += 1


def _bias(mc_control: ControlClient, state: BackoutScenario, tenant: str, region: str) -> None:
    state.tenant = tenant
    state.weights_before = dict(mc_control.tenant_status(tenant).glb.weights)
    state.biased_to = region  # set first: the undo must run even if the answer is odd
    status = mc_control.glb_bias(tenant, region, weight=100)
    state.commands += 1
    assert status.glb.weights.get(region) == 100, (
        f"gate backout: after `glb bias --region {region} --weight 100` the effective weights "
        f"of {tenant} are {status.glb.weights}"
    )


def _route(
    mc_dataplane: DataPlaneClient, mc_metrics: MetricSource, state: BackoutScenario, tenant: str
) -> None:
    before = counter_by(mc_metrics, "mc_glb_requests_total", tenant, "region")
    state.routed = [mc_dataplane.list_keys(tenant, limit=1) for _ in range(ROUTED_REQUESTS)]
    state.routed_counts = delta(
        counter_by(mc_metrics, "mc_glb_requests_total", tenant, "region"), before
    )


# --------------------------------------------------------------------------- GLB bias


@when(parsers.parse("the GLB is biased for tenant {tenant} to a single region"))
def bias_to_single_region(
    mc_control: ControlClient, mc_profile: TargetProfile, mc_backout: BackoutScenario, tenant: str
) -> None:
    """Bias to a region that takes none of the tenant's traffic now, if there is one (A/P:
    the move is then unmistakable); else to the secondary, which the bias must make the only
    region serving (A/A: the other one must stop receiving anything)."""
    status = mc_control.tenant_status(tenant)
    regions = mc_profile.tenant(tenant).regions
    idle = [r for r in regions if status.glb.weights.get(r, 0) == 0]
    secondary = [r for r in regions if r != status.primary]
    target = (idle or secondary or list(regions))[0]
    _bias(mc_control, mc_backout, tenant, target)


@when(parsers.parse("requests of tenant {tenant} go through the GLB"))
def requests_through_glb(
    mc_dataplane: DataPlaneClient,
    mc_metrics: MetricSource,
    mc_backout: BackoutScenario,
    tenant: str,
) -> None:
    _route(mc_dataplane, mc_metrics, mc_backout, tenant)


@then(parsers.parse("every request of tenant {tenant} landed in the biased region"))
def all_in_biased_region(mc_evidence: McEvidence, mc_backout: BackoutScenario, tenant: str) -> None:
    region = mc_backout.biased_to
    assert region is not None, "the GLB was not biased in this scenario"
    served = [a.served_by for a in mc_backout.routed]
    counted = {r: n for r, n in mc_backout.routed_counts.items() if n}
    attach_json(
        mc_evidence,
        f"glb-bias-{tenant}.json",
        tenant,
        {"biased_to": region, "served_by": served, "glb_requests_by_region": counted},
    )
    elsewhere = [a.describe() for a in mc_backout.routed if a.served_by != region]
    assert not elsewhere, (
        f"gate backout: {len(elsewhere)} of {len(served)} requests of {tenant} did not land in "
        f"{region} after the GLB bias: {elsewhere[:3]}"
    )
    assert set(counted) == {region}, (
        f"gate backout: mc_glb_requests_total of {tenant} grew in {sorted(counted)} during the "
        f"bias, expected only {region}"
    )


@when(parsers.parse("the backout of tenant {tenant} is undone"))
def undo_backout(mc_control: ControlClient, mc_backout: BackoutScenario, tenant: str) -> None:
    _undo(mc_control, mc_backout, tenant)


@then(parsers.parse("tenant {tenant}'s traffic lands where it did before the backout"))
def traffic_back(
    mc_control: ControlClient,
    mc_dataplane: DataPlaneClient,
    mc_metrics: MetricSource,
    mc_backout: BackoutScenario,
    tenant: str,
) -> None:
    weights = mc_control.tenant_status(tenant).glb.weights
    assert weights == mc_backout.weights_before, (
        f"GLB weights of {tenant} are {weights} after the backout was undone, "
        f"{mc_backout.weights_before} before it"
    )
    _route(mc_dataplane, mc_metrics, mc_backout, tenant)
    allowed = {r for r, w in weights.items() if w > 0}
    stray = [a.describe() for a in mc_backout.routed if a.served_by not in allowed]
    assert not stray, f"requests of {tenant} still land outside {sorted(allowed)}: {stray[:3]}"


# --------------------------------------------------------------------------- TTL auto-tune


@when(parsers.parse("TTL auto-tune is disabled for tenant {tenant}"))
def ttl_autotune_disabled(
    mc_control: ControlClient, mc_backout: BackoutScenario, tenant: str
) -> None:
    mc_backout.tenant = tenant
    mc_backout.ttl_disabled = True
    status = mc_control.set_flag(tenant, "ttl-autotune", False)
    mc_backout.commands += 1
    assert status.flags.ttl_autotune is False, f"TTL auto-tune of {tenant} is still on"


@when(parsers.parse("TTL auto-tune is re-enabled for tenant {tenant}"))
def ttl_autotune_enabled(
    mc_control: ControlClient, mc_backout: BackoutScenario, tenant: str
) -> None:
    mc_control.set_flag(tenant, "ttl-autotune", True)
    mc_backout.ttl_disabled = False
    mc_backout.commands += 1


def _ttl_series(mc_readiness: ReadinessScenario) -> dict[str, list[float]]:
    series: dict[str, list[float]] = {}
    for sample in mc_readiness.ttl_samples:
        for region, ttl in sample.items():
            series.setdefault(region, []).append(ttl)
    return series


def _rose(values: list[float]) -> bool:
    """The TTL went up between two consecutive samples."""
    return any(later > earlier for earlier, later in pairwise(values))


@then(parsers.parse("the cache TTL of tenant {tenant} stayed constant under that traffic"))
def ttl_constant(mc_evidence: McEvidence, mc_readiness: ReadinessScenario, tenant: str) -> None:
    series = _ttl_series(mc_readiness)
    attach_json(mc_evidence, f"cache-ttl-disabled-{tenant}.json", tenant, series)
    # Auto-tune raises the TTL of keys that are read often. The gauge is the mean TTL of the
    # tenant's cached entries, so with tuning off it may still fall (entries cached under the
    # old setting are refilled at the base TTL) but must never rise.
    assert any(len(values) >= 2 for values in series.values()), (
        f"gate backout: no mc_cache_ttl_seconds series of {tenant} to compare: {series}"
    )
    changed = {r: v for r, v in series.items() if _rose(v)}
    assert not changed, (
        f"gate backout: with TTL auto-tune disabled the cache TTL of {tenant} still rose "
        f"under traffic: {changed}"
    )


@then(parsers.parse("the cache TTL of tenant {tenant} grew under that traffic"))
def ttl_grew(mc_evidence: McEvidence, mc_readiness: ReadinessScenario, tenant: str) -> None:
    series = _ttl_series(mc_readiness)
    attach_json(mc_evidence, f"cache-ttl-enabled-{tenant}.json", tenant, series)
    grew = {r: v for r, v in series.items() if _rose(v)}
    assert grew, (
        f"with TTL auto-tune enabled the cache TTL of {tenant}'s hot keys did not grow under "
        f"traffic ({series}): the disabled case above proves nothing if tuning is invisible"
    )


# --------------------------------------------------------------------------- backout as a whole


@given(
    parsers.parse("tenant {tenant} is backed out to its serving region with TTL auto-tune disabled")
)
@when(
    parsers.parse("tenant {tenant} is backed out to its serving region with TTL auto-tune disabled")
)
def backed_out(mc_control: ControlClient, mc_backout: BackoutScenario, tenant: str) -> None:
    _bias(mc_control, mc_backout, tenant, serving_region(mc_control, tenant))
    ttl_autotune_disabled(mc_control, mc_backout, tenant)


# --------------------------------------------------------------------------- persisted-only


@when(
    parsers.parse(
        "ad-hoc queries of tenant {tenant} are sent through the GLB and to each of its regions"
    )
)
def adhoc_everywhere(
    mc_dataplane: DataPlaneClient,
    mc_profile: TargetProfile,
    mc_metrics: MetricSource,
    mc_backout: BackoutScenario,
    tenant: str,
) -> None:
    before = counter_by(mc_metrics, "mc_non_persisted_requests_total", tenant, "region")
    query = f"get adhoc:{tenant}"
    mc_backout.adhoc = [mc_dataplane.adhoc(tenant, query)]
    for region in mc_profile.tenant(tenant).regions:
        mc_backout.adhoc.append(mc_dataplane.adhoc(tenant, query, via=region))
    after = counter_by(mc_metrics, "mc_non_persisted_requests_total", tenant, "region")
    mc_backout.adhoc_counted = delta(after, before)


@then(
    parsers.parse(
        "every ad-hoc query of tenant {tenant} is refused with 403 persisted_only and counted"
    )
)
def adhoc_refused(mc_evidence: McEvidence, mc_backout: BackoutScenario, tenant: str) -> None:
    answers = mc_backout.adhoc
    attach_json(
        mc_evidence,
        f"persisted-only-backout-{tenant}.json",
        tenant,
        {
            "answers": [a.describe() for a in answers],
            "non_persisted_counted": mc_backout.adhoc_counted,
        },
    )
    wrong = [a.describe() for a in answers if (a.status, a.error) != (403, "persisted_only")]
    assert not wrong, (
        f"gate backout: ad-hoc queries of {tenant} during the backout were not refused with "
        f"403 persisted_only: {wrong}"
    )
    counted = sum(mc_backout.adhoc_counted.values())
    assert counted >= len(answers), (
        f"gate backout: {len(answers)} ad-hoc queries of {tenant} refused but "
        f"mc_non_persisted_requests_total counted {counted:g}"
    )


@then(parsers.parse("persisted queries of tenant {tenant} are still served"))
def persisted_served(mc_dataplane: DataPlaneClient, tenant: str) -> None:
    answer = mc_dataplane.list_keys(tenant, limit=1)
    assert answer.ok, f"gate backout: a persisted query of {tenant} got {answer.describe()}"


# --------------------------------------------------------------------------- op replay


def _versions(
    mc_dataplane: DataPlaneClient, mc_readiness: ReadinessScenario, tenant: str
) -> dict[str, int | None]:
    found: dict[str, int | None] = {}
    for written in mc_readiness.written:
        if written.entity is None:
            continue
        answer = mc_dataplane.get(tenant, written.entity.key)
        assert answer.ok, f"read of {written.entity.key} for {tenant}: {answer.describe()}"
        found[written.entity.key] = answer.entity.version if answer.entity else None
    return found


@when(parsers.parse("the ops of tenant {tenant} are replayed twice"))
def replay_twice(
    mc_control: ControlClient,
    mc_dataplane: DataPlaneClient,
    mc_readiness: ReadinessScenario,
    mc_backout: BackoutScenario,
    tenant: str,
) -> None:
    mc_backout.replays.append(mc_control.replay_ops(tenant))
    mc_backout.versions_between = _versions(mc_dataplane, mc_readiness, tenant)
    mc_backout.replays.append(mc_control.replay_ops(tenant))
    mc_backout.versions_after = _versions(mc_dataplane, mc_readiness, tenant)


@then(
    parsers.parse("the second replay of tenant {tenant} replayed nothing and its data is unchanged")
)
def second_replay_noop(mc_evidence: McEvidence, mc_backout: BackoutScenario, tenant: str) -> None:
    first, second = mc_backout.replays
    attach_json(
        mc_evidence,
        f"ops-replay-{tenant}.json",
        tenant,
        {
            "replays": [r.model_dump() for r in mc_backout.replays],
            "versions_after_first": mc_backout.versions_between,
            "versions_after_second": mc_backout.versions_after,
        },
    )
    assert first.failed == 0, f"gate backout: the first replay of {tenant} failed: {first}"
    assert (second.replayed, second.failed) == (0, 0), (
        f"gate backout: replaying {tenant}'s ops a second time replayed {second.replayed} "
        f"and failed {second.failed}; a replay must be idempotent"
    )
    assert mc_backout.versions_after == mc_backout.versions_between, (
        f"gate backout: the second replay changed {tenant}'s data: "
        f"{mc_backout.versions_between} -> {mc_backout.versions_after}"
    )


Content = dict[str, dict[str, tuple[str | None, int | None]]]  # path -> key -> (value, version)


def _contents(
    mc_dataplane: DataPlaneClient, paths: tuple[str, ...], tenant: str, keys: list[str]
) -> Content:
    """What every path serves for each key: the data content a re-applied write would move."""
    found: Content = {}
    for path in paths:
        found[path] = {}
        for key in keys:
            answer = mc_dataplane.get(tenant, key, via=path)
            entity = answer.entity if answer.ok else None
            assert entity is not None, (
                f"gate backout: read of {key} for {tenant} via {path}: {answer.describe()}"
            )
            found[path][key] = (entity.value, entity.version)
    return found


def _await_every_region(
    mc_dataplane: DataPlaneClient,
    regions: tuple[str, ...],
    tenant: str,
    expected: dict[str, int | None],
    timeout_seconds: float,
) -> Content:
    """Wait until every region serves each key at the version the GLB serves (replication
    carried the write and its op id), or fail naming the key and region that lag."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        found = _contents(mc_dataplane, regions, tenant, sorted(expected))
        behind = [
            f"{key} in {region} at version {found[region][key][1]}, GLB at {version}"
            for region in regions
            for key, version in expected.items()
            if found[region][key][1] != version
        ]
        if not behind or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not behind, (
        f"gate backout: {tenant}'s writes did not reach every region within "
        f"{timeout_seconds:g}s, so a replay to each cannot be judged: {behind[:3]}"
    )
    return found


@then(
    parsers.parse(
        "re-sending tenant {tenant}'s acknowledged writes with their op ids, twice through the "
        "GLB and twice to each of its regions, applies none again"
    )
)
def resend_on_every_path(
    mc_dataplane: DataPlaneClient,
    mc_profile: TargetProfile,
    mc_evidence: McEvidence,
    mc_readiness: ReadinessScenario,
    mc_backout: BackoutScenario,
    tenant: str,
) -> None:
    """The data plane's replay paths: the GLB and each region's own URL, each sent every
    acknowledged write again with its op id, twice. A path may refuse a write (409
    not_primary on a passive region) but must never apply it again; judged by the content
    every path serves, not by the answers."""
    written = [w for w in mc_readiness.written if w.entity is not None and w.op_id is not None]
    assert written, "no acknowledged writes in this scenario: write some first"
    regions = mc_profile.tenant(tenant).regions
    paths = (GLB, *regions)
    expected = dict(mc_backout.versions_after)
    _await_every_region(mc_dataplane, regions, tenant, expected, mc_profile.control.timeout_seconds)
    before = _contents(mc_dataplane, paths, tenant, sorted(expected))
    answers: dict[str, list[QueryAnswer]] = {}
    for path in paths:
        for _round in (1, 2):
            for write in written:
                assert write.entity is not None
                assert write.op_id is not None
                answers.setdefault(path, []).append(
                    mc_dataplane.put(
                        tenant, write.entity.key, REPLAYED_VALUE, via=path, op_id=write.op_id
                    )
                )
    after = _contents(mc_dataplane, paths, tenant, sorted(expected))
    attach_json(
        mc_evidence,
        f"replay-paths-{tenant}.json",
        tenant,
        {
            "paths": list(paths),
            "answers": {p: [a.describe() for a in got] for p, got in answers.items()},
            "before": {p: {k: list(v) for k, v in c.items()} for p, c in before.items()},
            "after": {p: {k: list(v) for k, v in c.items()} for p, c in after.items()},
        },
    )
    changed = [
        f"{key} via {path}: {before[path][key]} -> {after[path][key]}"
        for path in paths
        for key in sorted(expected)
        if after[path][key] != before[path][key]
    ]
    every = [a for got in answers.values() for a in got]
    applied = [
        f"{a.describe()} op {a.op_id}"
        for a in every
        if a.ok and not (a.entity and a.entity.idempotent_replay)
    ]
    assert not changed, (
        f"gate backout: replaying {tenant}'s acknowledged writes with their op ids applied "
        f"them again: {changed[:3]}; answered as new writes: {applied[:2] or 'none'}"
    )
    assert not applied, (
        f"gate backout: writes of {tenant} re-sent with their op ids were answered as new "
        f"writes, not as replays: {applied[:3]} ({statuses(every)})"
    )


# --------------------------------------------------------------------------- provenance


def _provenance_raw(mc_control: ControlClient, tenant: str) -> tuple[ProvenanceLog, list[bytes]]:
    """The tenant's whole log, parsed, and each record as canonical bytes (RFC 8785) of the
    JSON object the contract serves, every field included."""
    served = mc_control.call(
        "provenance", "log", "--tenant", tenant, "--limit", str(PROVENANCE_LIMIT)
    )
    log = ProvenanceLog.model_validate(served)
    records = served.get("records") if isinstance(served, dict) else None
    assert isinstance(records, list), (
        f"gate backout: `provenance log --tenant {tenant}` served no records list"
    )
    return log, [rfc8785.dumps(record) for record in records]


def first_difference(before: list[bytes], after: list[bytes]) -> int | None:
    """The index of the first record of `before` that `after` does not hold byte for byte at
    the same position (len(after) when after is shorter), or None for a prefix."""
    for index, record in enumerate(before):
        if index >= len(after) or after[index] != record:
            return index
    return None


@given(parsers.parse("the provenance log of tenant {tenant} is read before the backout"))
def provenance_before(mc_control: ControlClient, mc_backout: BackoutScenario, tenant: str) -> None:
    log, canonical = _provenance_raw(mc_control, tenant)
    assert canonical, (
        f"gate backout: the provenance log of {tenant} is empty before the backout; there is "
        "nothing whose preservation could be shown (run a scenario that changes it first)"
    )
    mc_backout.provenance_before = log
    mc_backout.provenance_before_canonical = canonical


@then(
    parsers.parse(
        "the provenance log of tenant {tenant} read before the backout is a byte-identical "
        "prefix of the log after it, whose chain is intact"
    )
)
def provenance_preserved(
    mc_control: ControlClient, mc_evidence: McEvidence, mc_backout: BackoutScenario, tenant: str
) -> None:
    before = mc_backout.provenance_before
    old = mc_backout.provenance_before_canonical
    assert before is not None, "the provenance log was not read before the backout"
    after, new = _provenance_raw(mc_control, tenant)
    differs = first_difference(old, new)
    attach_json(
        mc_evidence,
        f"provenance-{tenant}.json",
        tenant,
        {
            "records_before": len(old),
            "records_after": len(new),
            "first_difference_at": differs,
            "chain_valid": after.chain_valid,
            "first_broken_seq": after.first_broken_seq,
            "backout_commands": mc_backout.commands,
            "new_actions": [r.action for r in after.records[len(old) :]],
        },
    )
    if differs is not None:
        was = before.records[differs]
        now = (
            f"{new[differs][:160].decode(errors='replace')}"
            if differs < len(new)
            else "nothing (the log is shorter)"
        )
        raise AssertionError(
            f"gate backout: the provenance log of {tenant} read before the backout is not a "
            f"byte-identical prefix of the log after it: entry {differs} (seq {was.seq}, "
            f"{was.action}) was {old[differs][:160].decode(errors='replace')}, is now {now}"
        )
    assert after.chain_valid, (
        f"gate backout: the provenance chain is broken at seq {after.first_broken_seq}"
    )
    grown = len(new) - len(old)
    assert grown >= mc_backout.commands, (
        f"gate backout: {mc_backout.commands} backout commands on {tenant} but its provenance "
        f"log grew by {grown} records"
    )
