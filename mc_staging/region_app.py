"""One region process: HTTP data plane, change feed, appliers, internal/admin routes.

Public: ``POST /v1/tenants/{tenant}/query``, ``GET /healthz``, ``GET /metrics``.
Internal (admin secret): ``/internal/feed``, ``/internal/stats``, ``/internal/holdings``,
``/internal/tenants/{t}/...``.
Fault generators for ``conflict-storm`` and ``non-persisted-burst`` run here when the control
plane's config lists them for this region's tenants.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mc_staging.dataplane import DataPlane
from mc_staging.defects import active, exported_lag
from mc_staging.errors import BadInput, quoted
from mc_staging.metrics import RegionMetrics, exposition
from mc_staging.model import RuntimeConfig, faults_for
from mc_staging.replication import PeerApplier, leaked
from mc_staging.seed import REGIONS
from mc_staging.statedir import StateDir
from mc_staging.store import ApplyOutcome, RegionStore
from mc_staging.wiring import ConfigFollower, async_client, guarded, json_object, query_number

LOG = logging.getLogger("mc_staging.region")
# A fault generator tick (wall seconds), aligned to the wall clock in every region.
FAULT_TICK_SECONDS = 0.05


def next_fault_slot(previous: int, now: float) -> int:
    """The next fault tick: the first multiple of `FAULT_TICK_SECONDS` on the wall clock after
    `now`, and never the slot of the previous tick again (a wake-up a little early)."""
    return max(previous + 1, math.floor(now / FAULT_TICK_SECONDS) + 1)


class RegionServer:
    def __init__(self, state_dir: StateDir, region_id: str) -> None:
        ids = [r.id for r in REGIONS]
        self.region_id = region_id
        self.jurisdiction = REGIONS[ids.index(region_id)].jurisdiction
        self.secret = state_dir.admin_secret()
        self.metrics = RegionMetrics()
        defects = active(state_dir)
        self.store = RegionStore(
            state_dir.region_db(region_id),
            region_id,
            ids.index(region_id),
            record_peer_op_ids="replay-path-applies-twice" not in defects,
        )
        self.plane = DataPlane(region_id, self.jurisdiction, self.store, self.metrics, defects)
        self.follower = ConfigFollower(state_dir.control_url(), self.secret, f"region-{region_id}")
        self.follower.listeners.append(self._on_config)
        self.appliers: dict[str, PeerApplier] = {}
        self.feed_event = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.plane.on_write = self._wake_feed

    def _wake_feed(self) -> None:
        self.feed_event.set()
        self.feed_event = asyncio.Event()

    # config & replication ---------------------------------------------------------------
    def config(self) -> RuntimeConfig:
        assert self.follower.config is not None
        return self.follower.config

    def _on_config(self, config: RuntimeConfig) -> None:
        self.plane.config = config
        active = {f.kind for f in config.faults if f.region in (None, self.region_id)}
        for kind in (
            "replication-delay",
            "replication-partition",
            "error-rate",
            "latency",
            "residency-regression",
            "conflict-storm",
            "non-persisted-burst",
        ):
            self.metrics.faults.labels(f"region-{self.region_id}", kind).set(
                1 if kind in active else 0
            )
        for tenant in config.tenants.values():
            # Every tenant's counters exist from the start, at 0, in every region: a reader
            # can then tell "nothing happened" from "this target exports nothing".
            for counter in self.metrics.tenant_counters():
                counter.labels(tenant.id, self.region_id)
            if self.region_id in tenant.regions:
                self.metrics.budget_limit.labels(tenant.id, self.region_id).set(
                    tenant.query_budget_units_per_second
                )

    def _leaks_outside(self) -> bool:
        return "replication-leaks-outside" in self.plane.defects

    def _peers(self, config: RuntimeConfig) -> set[str]:
        peers: set[str] = set()
        for tenant in config.tenants.values():
            if self.region_id in tenant.regions:
                peers.update(r for r in tenant.regions if r != self.region_id)
            elif self._leaks_outside():
                # deliberate defect: the peer set is built from every tenant, residency aside
                source = leaked(config, tenant.id, self.region_id)
                if source is not None:
                    peers.add(source)
        return peers

    def _on_applied(self, peer: str, outcomes: list[ApplyOutcome]) -> None:
        for outcome in outcomes:
            if not outcome.applied:
                continue
            labels = (outcome.tenant, peer, self.region_id)
            self.metrics.applied.labels(*labels).inc()
            self.metrics.apply_lag.labels(*labels).observe(
                exported_lag(self.plane.defects, outcome.lag_seconds)
            )
            if outcome.conflict:
                self.plane.counters_for(outcome.tenant).conflicts += 1
                self.metrics.conflicts.labels(outcome.tenant, self.region_id).inc()
        for tenant in {o.tenant for o in outcomes}:
            self.plane.cache.clear_tenant(tenant)

    def lag_by_tenant(self) -> dict[str, float]:
        lags: dict[str, float] = {}
        for peer, applier in self.appliers.items():
            per_tenant = applier.lag_by_tenant()
            for tenant, spec in self.config().tenants.items():
                if self.region_id in spec.regions and peer in spec.regions:
                    lag = per_tenant.get(tenant, 0.0)
                    self.metrics.lag.labels(tenant, peer, self.region_id).set(
                        exported_lag(self.plane.defects, lag)
                    )
                    lags[tenant] = max(lags.get(tenant, 0.0), lag)
        return lags

    async def _ensure_appliers(self, client: httpx.AsyncClient) -> None:
        while True:
            for peer in self._peers(self.config()):
                if peer not in self.appliers:
                    applier = PeerApplier(
                        self.store,
                        self.region_id,
                        peer,
                        self.config,
                        self.secret,
                        self._on_applied,
                        leaks_outside=self._leaks_outside(),
                        counts_from_receipt="lag-counted-from-receipt" in self.plane.defects,
                    )
                    self.appliers[peer] = applier
                    self.tasks.append(asyncio.create_task(applier.run()))
            await asyncio.sleep(0.5)

    async def _fault_generators(self) -> None:
        """Drive conflict storms and non-persisted bursts listed in the config.

        Ticks fall on the wall clock's multiples of `FAULT_TICK_SECONDS` in every region, so
        the regions of a storm write the same keys at the same moments, within the
        replication lag of each other: the conflicts do not depend on when each region
        process happened to start."""
        tick = 0
        slot = 0
        while True:
            slot = next_fault_slot(slot, time.time())
            await asyncio.sleep(max(0.0, slot * FAULT_TICK_SECONDS - time.time()))
            tick += 1
            try:
                await self._fault_tick(tick)
            except Exception:  # a failed tick must not stop every later one
                LOG.exception("region %s: fault generator tick failed", self.region_id)

    async def _fault_tick(self, tick: int) -> None:
        config = self.config()
        for fault in faults_for(config, "conflict-storm", region=self.region_id):
            tenant = config.tenants.get(fault.tenant or "")
            if tenant is None or self.region_id not in tenant.regions:
                continue
            keys = int(float(fault.params.get("keys", 4)))
            for index in range(int(float(fault.params.get("writes_per_tick", 8)))):
                await self.plane.execute(
                    tenant.id,
                    tenant.purposes[0],
                    {
                        "id": "put_entity",
                        "variables": {
                            "key": f"storm:{index % keys}",
                            "value": f"{self.region_id}:{tick}:{index}",
                        },
                    },
                    None,
                )
        for fault in faults_for(config, "non-persisted-burst", region=self.region_id):
            tenant = config.tenants.get(fault.tenant or "")
            if tenant is None or self.region_id not in tenant.regions:
                continue
            for _ in range(int(float(fault.params.get("queries_per_tick", 10)))):
                await self.plane.execute(tenant.id, tenant.purposes[0], {"query": "list"}, None)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        client = async_client(50)
        config = await self.follower.first(client)
        self._on_config(config)
        self.tasks = [
            asyncio.create_task(self.follower.run(client)),
            asyncio.create_task(self._ensure_appliers(client)),
            asyncio.create_task(self._fault_generators()),
        ]
        self.metrics.up.labels(f"region-{self.region_id}").set(1)
        try:
            yield
        finally:
            for task in self.tasks:
                task.cancel()
            await client.aclose()
            self.store.close()

    # routes -----------------------------------------------------------------------------
    async def query(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        result = await self.plane.execute(
            request.path_params["tenant"],
            request.headers.get("x-mc-purpose"),
            body,
            request.headers.get("idempotency-key"),
        )
        return JSONResponse(
            result.body, status_code=result.status, headers={"x-mc-region": self.region_id}
        )

    async def healthz(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "region": self.region_id,
                "jurisdiction": self.jurisdiction,
                "defects": sorted(self.plane.defects),
            }
        )

    async def metrics_route(self, _request: Request) -> Response:
        self.lag_by_tenant()
        return Response(exposition(self.metrics.registry), media_type="text/plain; version=0.0.4")

    async def feed(self, request: Request) -> Response:
        since = int(query_number(request, "since", 0))
        wait = min(query_number(request, "wait", 0.0), 5.0)
        entries = self.store.feed_since(since)
        if not entries and wait > 0:
            event = self.feed_event
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=wait)
            entries = self.store.feed_since(since)
        return JSONResponse(
            {
                "entries": [e.to_json() for e in entries],
                "head_seq": self.store.head_seq(),
                "now": time.time(),
            }
        )

    async def stats(self, request: Request) -> Response:
        """Cumulative counters and lag; ``?detail=1`` adds storage and lag quantiles."""
        body: dict[str, object] = {
            "region": self.region_id,
            "jurisdiction": self.jurisdiction,
            "now": time.time(),
            "tenants": {t: vars(c) for t, c in self.plane.counters.items()},
            "lag_seconds": self.lag_by_tenant(),
        }
        if request.query_params.get("detail"):
            recent = sorted(x for a in self.appliers.values() for x in a.recent_lags)
            body.update(
                {
                    "stored_tenants": self.store.tenants_stored(),
                    "apply_lag_samples": len(recent),
                    "apply_lag_p50_seconds": _quantile(recent, 0.50),
                    "apply_lag_p99_seconds": _quantile(recent, 0.99),
                    "apply_lag_max_seconds": recent[-1] if recent else 0.0,
                }
            )
        return JSONResponse(body)

    async def reset_lag_samples(self, _request: Request) -> Response:
        for applier in self.appliers.values():
            applier.recent_lags.clear()
        return JSONResponse({"reset": True})

    async def snapshot(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        rows = self.store.base_rows(tenant)
        return JSONResponse(
            {
                "tenant": tenant,
                "region": self.region_id,
                "digest": self.store.digest(tenant),
                "base": [[k, v, ver] for k, v, ver in rows],
                "derived": self.store.derived(tenant),
            }
        )

    async def holdings(self, request: Request) -> Response:
        """The holdings inventory: which tenants' rows this region holds (``?tenant=`` for one)."""
        tenant = request.query_params.get("tenant") or None
        return JSONResponse(
            {
                "region": self.region_id,
                "jurisdiction": self.jurisdiction,
                "tenants": [held.to_json() for held in self.store.holdings(tenant)],
            }
        )

    async def digest(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        return JSONResponse(
            {
                "tenant": tenant,
                "region": self.region_id,
                "digest": self.store.digest(tenant),
                "entities": len(self.store.base_rows(tenant)),
            }
        )

    async def derived(self, request: Request) -> Response:
        """Compare-and-set derived rows: 409 when the current rows differ from ``expected``."""
        tenant = request.path_params["tenant"]
        body = await json_object(request, "derived-rows body")
        values = body.get("values")
        if not isinstance(values, dict):
            raise BadInput(
                f"derived-rows body 'values' must be a JSON object, got {quoted(values)}"
            )
        spec = self.config().tenants.get(tenant)
        if spec is None:
            raise BadInput(f"tenant {tenant!r} unknown")
        if self.jurisdiction != spec.residency and not self.plane.gate_open(tenant):
            self.plane.counters_for(tenant).residency_denials += 1
            self.metrics.residency_denials.labels(tenant, self.region_id).inc()
            return JSONResponse(
                {
                    "error": "residency_denied",
                    "message": f"{tenant} data may not be written in {self.region_id}",
                },
                status_code=451,
            )
        current = self.store.derived(tenant)
        expected = body.get("expected")
        if isinstance(expected, dict):
            drifted = sorted(n for n, v in expected.items() if current.get(n) != v)
            if drifted:
                return JSONResponse(
                    {"error": "drift", "message": "derived rows changed", "drifted": drifted},
                    status_code=409,
                )
        rows = {str(k): (None if v is None else str(v)) for k, v in values.items()}
        self.store.set_derived(tenant, rows)
        return JSONResponse(
            {
                "tenant": tenant,
                "region": self.region_id,
                "digest": _digest(self.store.derived(tenant)),
            }
        )

    async def purge(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        removed = self.store.purge_tenant(tenant)
        self.plane.cache.clear_tenant(tenant)
        return JSONResponse({"tenant": tenant, "region": self.region_id, "purged": removed})

    async def crash(self, _request: Request) -> Response:
        import os

        os._exit(137)

    def app(self) -> Starlette:
        s = self.secret
        return Starlette(
            routes=[
                Route("/v1/tenants/{tenant}/query", self.query, methods=["POST"]),
                Route("/healthz", self.healthz),
                Route("/metrics", self.metrics_route),
                Route("/internal/feed", guarded(s, self.feed)),
                Route("/internal/stats", guarded(s, self.stats)),
                Route(
                    "/internal/lag-samples/reset",
                    guarded(s, self.reset_lag_samples),
                    methods=["POST"],
                ),
                Route("/internal/tenants/{tenant}/snapshot", guarded(s, self.snapshot)),
                Route("/internal/tenants/{tenant}/digest", guarded(s, self.digest)),
                Route("/internal/holdings", guarded(s, self.holdings)),
                Route(
                    "/internal/tenants/{tenant}/derived", guarded(s, self.derived), methods=["POST"]
                ),
                Route("/internal/tenants/{tenant}/purge", guarded(s, self.purge), methods=["POST"]),
                Route("/admin/crash", guarded(s, self.crash), methods=["POST"]),
            ],
            lifespan=self.lifespan,
        )


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(q * len(values)))]


def _digest(values: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
