"""A region's data plane: the gates (residency, purpose, persisted-only, budget) and queries.

Order of checks, deny by default: tenant known → injected faults (latency, error rate) →
residency → tenant served here → purpose → query form (persisted id or ad-hoc; ad-hoc is
counted, and refused for a persisted-only tenant) → query budget (429) → A/P primary → execute.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mc_staging.cache import HotKeyCache
from mc_staging.metrics import RegionMetrics
from mc_staging.model import RuntimeConfig, TenantRuntime, faults_for
from mc_staging.store import RegionStore

COST_UNITS = {
    "get_entity": 1,
    "get_derived": 1,
    "put_entity": 2,
    "delete_entity": 2,
    "list_entities": 5,
    "adhoc": 5,
}
WRITE_QUERIES = {"put_entity", "delete_entity"}


@dataclass
class TenantCounters:
    """Cumulative counters the control plane reads from /internal/stats."""

    requests: int = 0
    errors: int = 0
    non_persisted: int = 0
    writes: int = 0
    conflicts: int = 0
    residency_violations: int = 0
    residency_denials: int = 0
    purpose_denials: int = 0
    budget_rejections: int = 0
    cost_units: int = 0


@dataclass
class QueryResult:
    status: int
    body: dict[str, object]
    route: str
    persisted: bool


@dataclass
class _Bucket:
    tokens: float
    at: float = field(default_factory=time.monotonic)


class DataPlane:
    def __init__(
        self,
        region_id: str,
        jurisdiction: str,
        store: RegionStore,
        metrics: RegionMetrics,
        defects: frozenset[str] = frozenset(),
    ) -> None:
        self.region_id = region_id
        self.defects = defects
        self.jurisdiction = jurisdiction
        self.store = store
        self.metrics = metrics
        self.cache = HotKeyCache()
        self.counters: dict[str, TenantCounters] = {}
        self.buckets: dict[str, _Bucket] = {}
        self.config: RuntimeConfig | None = None
        self.on_write: Callable[[], None] = lambda: None

    def counters_for(self, tenant: str) -> TenantCounters:
        if tenant not in self.counters:
            self.counters[tenant] = TenantCounters()
        return self.counters[tenant]

    def gate_open(self, tenant: str) -> bool:
        """True when a residency-regression fault opened this region's gate for ``tenant``."""
        assert self.config is not None
        return any(
            fault.region == self.region_id and not bool(fault.params.get("leak_only", False))
            for fault in faults_for(self.config, "residency-regression", tenant=tenant)
        )

    async def execute(
        self, tenant_id: str, purpose: str | None, body: object, op_id: str | None
    ) -> QueryResult:
        started = time.perf_counter()
        result = await self._execute(tenant_id, purpose, body, op_id)
        if self.config is not None and tenant_id in self.config.tenants:
            self._record(tenant_id, result, time.perf_counter() - started)
        return result

    def _record(self, tenant: str, result: QueryResult, seconds: float) -> None:
        counters = self.counters_for(tenant)
        counters.requests += 1
        if result.status >= 500:
            counters.errors += 1
        if not result.persisted:
            counters.non_persisted += 1
            self.metrics.non_persisted.labels(tenant, self.region_id).inc()
        self.metrics.requests.labels(
            tenant,
            self.region_id,
            result.route,
            str(result.status),
            "true" if result.persisted else "false",
        ).inc()
        self.metrics.latency.labels(tenant, self.region_id, result.route).observe(seconds)

    async def _execute(
        self, tenant_id: str, purpose: str | None, body: object, op_id: str | None
    ) -> QueryResult:
        config = self.config
        route, persisted, query_id, variables = _parse(body)
        if config is None:
            return QueryResult(503, _err("not_ready", "region has no config yet"), route, True)
        tenant = config.tenants.get(tenant_id)
        if tenant is None:
            return QueryResult(
                404, _err("unknown_tenant", f"tenant {tenant_id!r} unknown"), route, persisted
            )
        for fault in faults_for(config, "latency", tenant=tenant_id, region=self.region_id):
            await asyncio.sleep(float(fault.params.get("latency_ms", 0.0)) / 1000.0)
        for fault in faults_for(config, "error-rate", tenant=tenant_id, region=self.region_id):
            if random.random() < float(fault.params.get("rate", 0.0)):
                return QueryResult(
                    503, _err("injected_error", "error-rate fault"), route, persisted
                )
        counters = self.counters_for(tenant_id)
        out_of_jurisdiction = self.jurisdiction != tenant.residency
        gate_off = "residency-gate-off" in self.defects
        if out_of_jurisdiction and not gate_off and not self.gate_open(tenant_id):
            counters.residency_denials += 1
            self.metrics.residency_denials.labels(tenant_id, self.region_id).inc()
            return QueryResult(
                451,
                _err(
                    "residency_denied",
                    f"{tenant_id} is {tenant.residency}-resident; region "
                    f"{self.region_id} is {self.jurisdiction}",
                ),
                route,
                persisted,
            )
        if not out_of_jurisdiction and self.region_id not in tenant.regions:
            return QueryResult(
                421, _err("misdirected", f"{tenant_id} not served here"), route, persisted
            )
        if purpose is None or purpose not in tenant.purposes:
            counters.purpose_denials += 1
            self.metrics.purpose_denials.labels(tenant_id, self.region_id).inc()
            return QueryResult(
                403,
                _err("purpose_denied", f"purpose {purpose!r} not allowed for {tenant_id}"),
                route,
                persisted,
            )
        if query_id is None:
            return QueryResult(
                400, _err("bad_request", "body needs 'id' or 'query'"), route, persisted
            )
        if not persisted and tenant.persisted_only:
            return QueryResult(
                403,
                _err("persisted_only", f"{tenant_id} accepts persisted queries only"),
                route,
                persisted,
            )
        if persisted and query_id not in tenant.persisted_queries:
            return QueryResult(
                400, _err("unknown_query", f"query id {query_id!r} unknown"), route, persisted
            )
        if not self._spend(tenant, COST_UNITS.get(route, 1)):
            counters.budget_rejections += 1
            self.metrics.budget_rejections.labels(tenant_id, self.region_id).inc()
            return QueryResult(
                429, _err("budget_exceeded", "query budget exhausted"), route, persisted
            )
        # deliberate defect: after a rollback the registry says A/P but the passive side
        # keeps taking writes as it did under A/A
        passive_takes_writes = (
            "ap-rollback-status-only" in self.defects and tenant.stage == "rolled-back"
        )
        if (
            query_id in WRITE_QUERIES
            and tenant.mode == "active-passive"
            and self.region_id in tenant.regions
            and tenant.primary != self.region_id
            and not passive_takes_writes
        ):
            return QueryResult(
                409,
                _err("not_primary", f"{tenant_id} is A/P; primary is {tenant.primary}"),
                route,
                persisted,
            )
        return self._run(tenant, query_id, variables, op_id, route, persisted, out_of_jurisdiction)

    def _spend(self, tenant: TenantRuntime, units: int) -> bool:
        rate = float(tenant.query_budget_units_per_second)
        bucket = self.buckets.get(tenant.id)
        now = time.monotonic()
        if bucket is None:
            bucket = self.buckets[tenant.id] = _Bucket(tokens=rate, at=now)
        bucket.tokens = min(rate, bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens < units:
            return False
        bucket.tokens -= units
        counters = self.counters_for(tenant.id)
        counters.cost_units += units
        self.metrics.cost_units.labels(tenant.id, self.region_id).inc(units)
        return True

    def _run(
        self,
        tenant: TenantRuntime,
        query_id: str,
        variables: dict[str, object],
        op_id: str | None,
        route: str,
        persisted: bool,
        out_of_jurisdiction: bool,
    ) -> QueryResult:
        key = str(variables.get("key", ""))
        if query_id in ("get_entity", "put_entity", "delete_entity") and not key:
            return QueryResult(
                400, _err("bad_request", "variables.key is required"), route, persisted
            )
        if query_id == "get_entity":
            cached = self.cache.get(tenant.id, key)
            self.metrics.cache.labels(tenant.id, self.region_id, "hit" if cached else "miss").inc()
            found = cached if cached is not None else self.store.get(tenant.id, key)
            if found is None:
                return QueryResult(404, _err("not_found", f"no entity {key!r}"), route, persisted)
            if cached is None:
                autotune = tenant.ttl_autotune or "ttl-flag-ignored" in self.defects
                self.cache.put(tenant.id, key, found[0], found[1], autotune)
                self.metrics.cache_ttl.labels(tenant.id, self.region_id).set(
                    self.cache.mean_ttl(tenant.id)
                )
            return QueryResult(
                200,
                {
                    "data": {"key": key, "value": found[0], "version": found[1]},
                    "region": self.region_id,
                },
                route,
                persisted,
            )
        if query_id in WRITE_QUERIES:
            value = None if query_id == "delete_entity" else str(variables.get("value", ""))
            written = self.store.write(
                tenant.id, key, value, op_id, deleted=query_id == "delete_entity"
            )
            self.cache.invalidate(tenant.id, key)
            self.on_write()
            if not written.replayed:
                counters = self.counters_for(tenant.id)
                counters.writes += 1
                self.metrics.writes.labels(tenant.id, self.region_id).inc()
                if out_of_jurisdiction:
                    counters.residency_violations += 1
                    self.metrics.residency_violations.labels(tenant.id, self.region_id).inc()
            return QueryResult(
                200,
                {
                    "data": {
                        "key": key,
                        "version": written.version,
                        "idempotent_replay": written.replayed,
                    },
                    "region": self.region_id,
                },
                route,
                persisted,
            )
        if query_id == "list_entities":
            listed = self.store.list_entities(tenant.id, int(str(variables.get("limit", 100))))
            data: dict[str, object] = {"keys": [key for key, _value in listed]}
            if variables.get("values") is True:  # the values too, in the same one read
                data["values"] = dict(listed)
            return QueryResult(200, {"data": data, "region": self.region_id}, route, persisted)
        if query_id == "get_derived":
            return QueryResult(
                200,
                {"data": self.store.derived(tenant.id), "region": self.region_id},
                route,
                persisted,
            )
        return QueryResult(400, _err("unknown_query", f"query {query_id!r}"), route, persisted)


def _err(code: str, message: str) -> dict[str, object]:
    return {"error": code, "message": message}


def _parse(body: object) -> tuple[str, bool, str | None, dict[str, object]]:
    """Return (route label, persisted?, query id, variables) for either query form."""
    if not isinstance(body, dict):
        return "invalid", True, None, {}
    if "query" in body:
        # ad-hoc mini language: "get KEY" | "put KEY VALUE" | "list"
        words = str(body["query"]).split(maxsplit=2)
        verb = words[0].lower() if words else ""
        mapping = {
            "get": "get_entity",
            "put": "put_entity",
            "list": "list_entities",
            "delete": "delete_entity",
        }
        variables: dict[str, object] = {}
        if len(words) > 1:
            variables["key"] = words[1]
        if len(words) > 2:
            variables["value"] = words[2]
        return "adhoc", False, mapping.get(verb), variables
    query_id = body.get("id")
    raw_vars = body.get("variables")
    variables = dict(raw_vars) if isinstance(raw_vars, dict) else {}
    if not isinstance(query_id, str):
        return "invalid", True, None, variables
    route = query_id if query_id in COST_UNITS else "unknown"
    return route, True, query_id, variables
