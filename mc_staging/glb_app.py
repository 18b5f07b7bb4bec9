"""The GLB: routes each tenant's data-plane traffic by its weights, health-checks regions and
fails over; journals writes it could not place so `ops replay` can re-send them idempotently.

Routes: ``POST /v1/tenants/{tenant}/query`` (same contract as a region), ``/healthz``,
``/metrics``; internal (admin secret): ``/internal/status``, ``/internal/journal``,
``/internal/replay``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mc_staging.defects import active
from mc_staging.metrics import GlbMetrics, exposition
from mc_staging.model import STAGE_SECONDARY_WEIGHT, RuntimeConfig, TenantRuntime
from mc_staging.statedir import StateDir
from mc_staging.upstream import UpstreamError, UpstreamPool
from mc_staging.wiring import ConfigFollower, async_client, guarded, json_object

WRITES = {"put_entity", "delete_entity"}


class GlbServer:
    def __init__(self, state_dir: StateDir) -> None:
        self.state_dir = state_dir
        self.secret = state_dir.admin_secret()
        self.defects = active(state_dir)
        self.metrics = GlbMetrics()
        self.follower = ConfigFollower(state_dir.control_url(), self.secret, "glb")
        self.follower.listeners.append(lambda _c: self._publish_weights())
        self.healthy: dict[str, bool] = {}
        self.failures: dict[str, int] = {}
        self.journal_path = state_dir.root / "glb-journal.jsonl"
        self.client: httpx.AsyncClient | None = None
        self.upstream = UpstreamPool()

    def config(self) -> RuntimeConfig:
        assert self.follower.config is not None
        return self.follower.config

    def region_url(self, region_id: str) -> str | None:
        return next((r.url for r in self.config().regions if r.id == region_id), None)

    def effective_weights(self, tenant: TenantRuntime) -> dict[str, int]:
        return {r: w for r, w in tenant.weights.items() if w > 0}

    def _publish_weights(self) -> None:
        for tenant in self.config().tenants.values():
            weights = self.effective_weights(tenant)
            for region in self.config().regions:
                self.metrics.weight.labels(tenant.id, region.id).set(weights.get(region.id, 0))

    def routing_weights(self, tenant: TenantRuntime) -> dict[str, int]:
        """The weights requests are routed by: the published ones, unless a defect says not."""
        if "glb-weights-status-only" in self.defects:
            # deliberate defect: route by the stage's weights whatever bias is published
            if tenant.mode == "active-passive":
                return {tenant.primary: 100}
            share = STAGE_SECONDARY_WEIGHT[tenant.stage]
            second = next(r for r in tenant.regions if r != tenant.primary)
            return {r: w for r, w in {tenant.primary: 100 - share, second: share}.items() if w}
        return self.effective_weights(tenant)

    def choose(self, tenant: TenantRuntime, exclude: set[str]) -> tuple[str | None, bool]:
        """Pick a region by weight among healthy ones; (region, failed_over?)."""
        weights = {
            r: w
            for r, w in self.routing_weights(tenant).items()
            if self.healthy.get(r, True) and r not in exclude
        }
        if weights:
            pick = random.uniform(0, sum(weights.values()))
            for region, weight in weights.items():
                pick -= weight
                if pick <= 0:
                    return region, False
            return next(iter(weights)), False
        fallback = [r for r in tenant.regions if self.healthy.get(r, True) and r not in exclude]
        if tenant.mode == "active-passive" and tenant.primary in fallback:
            return tenant.primary, True
        return (fallback[0], True) if fallback else (None, True)

    async def forward(
        self, tenant_id: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes, str | None]:
        tenant = self.config().tenants.get(tenant_id)
        if tenant is None:
            return (
                404,
                json.dumps(
                    {"error": "unknown_tenant", "message": f"tenant {tenant_id!r} unknown"}
                ).encode(),
                None,
            )
        tried: set[str] = set()
        intended: str | None = None
        while True:
            region, failed_over = self.choose(tenant, tried)
            if region is None:
                return (
                    503,
                    json.dumps({"error": "no_region", "message": "no healthy region"}).encode(),
                    None,
                )
            if intended is None:
                intended = region
            if failed_over or region != intended:
                self.metrics.failovers.labels(tenant_id, intended, region).inc()
            url = self.region_url(region)
            answer: tuple[int, bytes] | None = None
            # two attempts: a pooled keep-alive connection to a restarted region is stale
            # and fails once; writes carry an op id, so the retry cannot double-apply
            for _attempt in range(2):
                try:
                    answer = await self.upstream.post(
                        f"{url}/v1/tenants/{tenant_id}/query", body, headers, timeout=10.0
                    )
                    break
                except UpstreamError:
                    continue
            if answer is None:
                self._mark(region, ok=False)
                tried.add(region)
                continue
            return answer[0], answer[1], region

    async def query(self, request: Request) -> Response:
        started = time.perf_counter()
        tenant_id = request.path_params["tenant"]
        body = await request.body()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k in ("x-mc-purpose", "idempotency-key", "content-type")
        }
        is_write = _is_write(body)
        if is_write and "idempotency-key" not in headers:
            headers["idempotency-key"] = f"glb-{uuid.uuid4().hex}"
        status, content, region = await self.forward(tenant_id, body, headers)
        if is_write and status == 503 and region is None:
            self._journal(tenant_id, body, headers)
        self.metrics.requests.labels(tenant_id, region or "none", str(status)).inc()
        self.metrics.latency.labels(tenant_id).observe(time.perf_counter() - started)
        return Response(
            content,
            status_code=status,
            media_type="application/json",
            headers={"x-mc-region": region or "none"},
        )

    def _journal(self, tenant: str, body: bytes, headers: dict[str, str]) -> None:
        self.metrics.journaled.labels(tenant).inc()
        record = {"tenant": tenant, "body": body.decode(), "headers": headers, "at": time.time()}
        with open(self.journal_path, "a") as handle:
            handle.write(json.dumps(record) + "\n")

    def _journal_entries(self, tenant: str | None) -> list[dict[str, object]]:
        if not self.journal_path.exists():
            return []
        entries = [
            json.loads(line) for line in self.journal_path.read_text().splitlines() if line.strip()
        ]
        return [e for e in entries if tenant is None or e["tenant"] == tenant]

    async def journal(self, request: Request) -> Response:
        tenant = request.query_params.get("tenant")
        entries = self._journal_entries(tenant)
        return JSONResponse(
            {
                "entries": [
                    {
                        "tenant": e["tenant"],
                        "at": e["at"],
                        "op_id": dict(e["headers"]).get("idempotency-key"),
                    }
                    for e in entries
                    if isinstance(e["headers"], dict)
                ]
            }
        )

    async def replay(self, request: Request) -> Response:
        """Re-send journaled writes of a tenant; regions dedupe by op id (idempotent)."""
        tenant = (await json_object(request, "replay body")).get("tenant")
        replayed = duplicates = failed = 0
        errors: list[dict[str, object]] = []
        keep: list[dict[str, object]] = []
        for entry in self._journal_entries(None):
            if entry["tenant"] != tenant:
                keep.append(entry)
                continue
            headers = {str(k): str(v) for k, v in dict(entry["headers"]).items()}  # type: ignore[call-overload]
            status, content, _ = await self.forward(
                str(tenant), str(entry["body"]).encode(), headers
            )
            if status == 200:
                if json.loads(content).get("data", {}).get("idempotent_replay"):
                    duplicates += 1
                else:
                    replayed += 1
            else:
                failed += 1
                errors.append({"status": status, "body": content.decode(errors="replace")})
                keep.append(entry)
        self.journal_path.write_text("".join(json.dumps(e) + "\n" for e in keep))
        return JSONResponse(
            {
                "tenant": tenant,
                "replayed": replayed,
                "already_applied": duplicates,
                "failed": failed,
                "errors": errors[:10],
            }
        )

    async def status(self, _request: Request) -> Response:
        tenants = {
            t.id: {"weights": self.effective_weights(t), "configured_weights": t.weights}
            for t in self.config().tenants.values()
        }
        return JSONResponse(
            {"regions": {r: {"healthy": ok} for r, ok in self.healthy.items()}, "tenants": tenants}
        )

    def _mark(self, region: str, ok: bool) -> None:
        if ok:
            self.failures[region] = 0
            self.healthy[region] = True
        else:
            self.failures[region] = self.failures.get(region, 0) + 1
            if self.failures[region] >= 2:
                self.healthy[region] = False
        self.metrics.healthy.labels(region).set(1 if self.healthy.get(region, True) else 0)

    async def _health_loop(self) -> None:
        pool = UpstreamPool(max_idle_per_host=1)
        while True:
            for region in self.config().regions:
                try:
                    status, _ = await pool.request(
                        "GET", f"{region.url}/healthz", b"", {}, timeout=0.3
                    )
                    self._mark(region.id, status == 200)
                except UpstreamError:
                    self._mark(region.id, ok=False)
            await asyncio.sleep(0.1)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.client = async_client(200)
        health_client = async_client(20)
        await self.follower.first(self.client)
        self._publish_weights()
        tasks = [
            asyncio.create_task(self.follower.run(health_client)),
            asyncio.create_task(self._health_loop()),
        ]
        self.metrics.up.labels("glb").set(1)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await self.client.aclose()
            await health_client.aclose()
            self.upstream.close()

    async def healthz(self, _request: Request) -> Response:
        return JSONResponse({"status": "ok", "component": "glb"})

    async def metrics_route(self, _request: Request) -> Response:
        return Response(exposition(self.metrics.registry), media_type="text/plain; version=0.0.4")

    def app(self) -> Starlette:
        s = self.secret
        return Starlette(
            routes=[
                Route("/v1/tenants/{tenant}/query", self.query, methods=["POST"]),
                Route("/healthz", self.healthz),
                Route("/metrics", self.metrics_route),
                Route("/internal/status", guarded(s, self.status)),
                Route("/internal/journal", guarded(s, self.journal)),
                Route("/internal/replay", guarded(s, self.replay), methods=["POST"]),
            ],
            lifespan=self.lifespan,
        )


def _is_write(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    if "query" in data:
        return str(data["query"]).split(maxsplit=1)[:1] in (["put"], ["delete"])
    return data.get("id") in WRITES
