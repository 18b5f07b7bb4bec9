"""The control-plane process: config long-poll for regions/GLB, the command API the CLI calls,
the authenticated admin (fault) API, metrics, and the tick loop that samples regions and runs
the tripwire automation.

Routes: ``POST /api/{command}``, ``GET|POST /admin/faults``, ``DELETE
/admin/faults/{id}`` and ``GET /admin/holdings`` (admin secret), ``GET /internal/config``
(admin secret), ``/healthz``, ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mc_staging.autonomy import AutonomyEngine
from mc_staging.commands import build_commands
from mc_staging.control_plane import ControlPlane
from mc_staging.defects import exported_lag
from mc_staging.errors import BadInput, StagingError, quoted
from mc_staging.metrics import exposition
from mc_staging.model import STAGE_INDEX, STAGES
from mc_staging.seed import TenantRecord
from mc_staging.statedir import StateDir
from mc_staging.tripwires import BURN_SLOW, Firing, Reading, Sampler, TripwireEvaluator
from mc_staging.upstream import UpstreamError, UpstreamPool
from mc_staging.wiring import error_response, guarded, json_object, query_number

Handler = Callable[[dict[str, object]], Awaitable[object]]


class Gateway:
    """RegionGateway for the autonomy engine (internal region routes, admin secret)."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    async def snapshot(self, region: str, tenant: str) -> dict[str, object]:
        try:
            response = await self.plane.client.get(
                f"{self.plane.region_url(region)}/internal/tenants/{tenant}/snapshot", timeout=5.0
            )
        except httpx.HTTPError as exc:
            raise BadInput(f"region {region} unreachable for a snapshot of {tenant}") from exc
        return dict(response.json())

    async def set_derived(
        self,
        region: str,
        tenant: str,
        expected: dict[str, str | None] | None,
        values: dict[str, str | None],
    ) -> tuple[int, dict[str, object]]:
        body: dict[str, object] = {"values": values}
        if expected is not None:
            body["expected"] = expected
        try:
            response = await self.plane.client.post(
                f"{self.plane.region_url(region)}/internal/tenants/{tenant}/derived",
                json=body,
                timeout=5.0,
            )
        except httpx.HTTPError:
            return 503, {"error": "unreachable"}
        return response.status_code, dict(response.json())


class ControlServer:
    def __init__(self, state_dir: StateDir, time_scale: float, sample_interval: float) -> None:
        self.plane = ControlPlane(state_dir, time_scale)
        self.sample_interval = sample_interval
        self.sampler = Sampler(retention_seconds=BURN_SLOW[0] / time_scale * 1.1)
        self.evaluator = TripwireEvaluator(time_scale, defects=self.plane.defects)
        self.readings: dict[str, Reading] = {}
        self.region_up: dict[str, bool] = {}
        self.autonomy = AutonomyEngine(
            self.plane.store,
            self.plane.metrics,
            state_dir.signing_key(),
            Gateway(self.plane),
            self._save_tenant,
            defects=self.plane.defects,
        )
        self.commands: dict[str, Handler] = build_commands(self)
        self.stats_pool = UpstreamPool(max_idle_per_host=2)

    async def _save_tenant(
        self, tenant: TenantRecord, action: str, details: dict[str, object]
    ) -> None:
        await self.plane.save(tenant, action, details)

    # tick loop ---------------------------------------------------------------------------
    async def _fetch_stats(self, region: str) -> dict[str, object] | None:
        try:
            status, content = await self.stats_pool.request(
                "GET",
                f"{self.plane.region_url(region)}/internal/stats",
                b"",
                {"authorization": f"Bearer {self.plane.secret}"},
                timeout=0.5,
            )
            return dict(json.loads(content)) if status == 200 else None
        except (UpstreamError, ValueError):
            return None

    async def tick(self) -> None:
        regions = [r.id for r in self.plane.region_specs()]
        results = await asyncio.gather(*(self._fetch_stats(r) for r in regions))
        for region, stats in zip(regions, results, strict=True):
            self.region_up[region] = stats is not None
            self.plane.metrics.region_up.labels(region).set(1 if stats else 0)
        now = time.time()
        self.sampler.ingest(now, [s for s in results if s is not None])
        config = self.plane.runtime_config()
        for tenant in self.plane.tenants().values():
            reading, firings = self.evaluator.evaluate(
                tenant.id, self.sampler, now, tenant.readiness.slo_baseline.availability
            )
            self.readings[tenant.id] = reading
            self._export(tenant, reading, config.tenants[tenant.id].weights)
            for firing in firings:
                await self._act(firing)

    def _export(self, tenant: TenantRecord, reading: Reading, weights: dict[str, int]) -> None:
        m = self.plane.metrics
        t = tenant.id
        m.stage.labels(t).set(STAGE_INDEX[tenant.stage])
        for stage in (*STAGES, "rolled-back"):
            m.stage_info.labels(t, stage).set(1 if tenant.stage == stage else 0)
        m.paused.labels(t).set(1 if tenant.paused else 0)
        m.active_active.labels(t).set(1 if tenant.mode == "active-active" else 0)
        secondary = next(r for r in tenant.regions if r != tenant.primary)
        m.canary_weight.labels(t).set(weights.get(secondary, 0))
        m.budget_remaining.labels(t).set(
            1.0 if reading.error_budget_remaining is None else reading.error_budget_remaining
        )
        m.budget_burn.labels(t, "1h").set(reading.burn_fast or 0.0)
        m.budget_burn.labels(t, "6h").set(reading.burn_slow or 0.0)
        budget = tenant.readiness.query_budgets.get("cost_units_per_plan_day", 1.0)
        m.cost_consumed.labels(t).set(reading.cost_units_plan_day / max(1.0, budget))
        latest = self.sampler.latest(t)
        m.lag.labels(t).set(exported_lag(self.plane.defects, latest.lag_seconds if latest else 0.0))
        m.conflict_ratio.labels(t).set(reading.conflict_ratio or 0.0)
        m.non_persisted_ratio.labels(t).set(reading.non_persisted_ratio or 0.0)
        m.violations.labels(t).set(reading.residency_violations)
        for name, holds in reading.conditions.items():
            m.tripwire_condition.labels(t, name).set(1 if holds else 0)
        m.autonomy_tier.labels(t).set(int(tenant.autonomy.tier[1]))
        m.autonomy_halted.labels(t).set(1 if tenant.autonomy.halted else 0)

    async def _act(self, firing: Firing) -> None:
        """Perform a tripwire's auto-action and record it (event, provenance, metric)."""
        async with self.plane.lock:
            tenant = self.plane.tenant(firing.tenant)
            actor = f"tripwire:{firing.tripwire}"
            result = "performed"
            if firing.action == "pause_rollout":
                if tenant.paused:
                    result = "already-paused"
                else:
                    await self.plane.pause(tenant, f"tripwire {firing.tripwire}", actor)
            elif firing.action == "bias_glb":
                healthy = self._healthiest(tenant)
                if healthy is None:
                    # nothing to bias to on this tick (e.g. every stats answer was late):
                    # stay armed and try again on the next one instead of recording a no-op
                    self.evaluator.rearm(firing.tenant, firing.tripwire)
                    return
                if "lag-tripwire-rolls-back" in self.plane.defects:
                    # deliberate defect: a rollback where the plan says bias, recorded as a bias
                    if tenant.stage != "rolled-back":
                        await self.plane.rollback(tenant, f"tripwire {firing.tripwire}", actor)
                else:
                    await self.plane.bias(tenant, healthy, 100, actor, "replication lag tripwire")
                result = f"biased to {healthy}"
            elif firing.action in ("rollback_to_ap", "rollback_and_page_dpo"):
                if tenant.stage == "rolled-back":
                    result = "already-rolled-back"
                else:
                    await self.plane.rollback(tenant, f"tripwire {firing.tripwire}", actor)
                if firing.action == "rollback_and_page_dpo":
                    page_id = self.plane.store.page(
                        tenant.id,
                        "critical",
                        "residency violation",
                        {"violations": firing.value, "tripwire": firing.tripwire},
                    )
                    self.plane.metrics.dpo_pages.labels(tenant.id).inc()
                    result += f"; paged DPO (page {page_id})"
            elif firing.action == "halt_autonomy":
                if tenant.autonomy.tier in ("T0",) or tenant.autonomy.halted:
                    result = "autonomy not active"
                elif "burn-halt-never" in self.plane.defects:
                    pass  # deliberate defect: the action is recorded, autonomy keeps running
                else:
                    await self.autonomy.halt(tenant, f"tripwire {firing.tripwire}", actor)
            event: dict[str, object] = {
                "tenant": firing.tenant,
                "tripwire": firing.tripwire,
                "action": firing.action,
                "result": result,
                "condition_since": firing.condition_since,
                "fired_at": firing.fired_at,
                "time_to_action_wall_seconds": firing.fired_at - firing.condition_since,
                "value": firing.value,
                "threshold": firing.threshold,
                "window_wall_seconds": firing.window_wall_seconds,
                "window_plan_seconds": firing.window_wall_seconds * self.plane.time_scale,
                "time_scale": self.plane.time_scale,
            }
            self.plane.store.add_tripwire_event(event)
            self.plane.metrics.tripwire_actions.labels(
                firing.tenant, firing.tripwire, firing.action
            ).inc()

    def _healthiest(self, tenant: TenantRecord) -> str | None:
        """The region to bias to: an A/P tenant's serving primary (the passive side is the
        stale copy), else the up region with the least inbound lag."""
        serving = tenant.failed_over_to or tenant.primary
        if tenant.mode == "active-passive":
            # the passive side cannot take writes: only DR failover moves an A/P tenant
            return serving if self.region_up.get(serving, True) else None
        latest = self.sampler.latest(tenant.id)
        lags = latest.lag_by_region if latest else {}
        candidates = [r for r in tenant.regions if self.region_up.get(r, True)]
        if not candidates:
            return None
        return min(candidates, key=lambda r: (lags.get(r, 0.0), r != tenant.primary))

    async def _tick_loop(self) -> None:
        while True:
            started = time.monotonic()
            with contextlib.suppress(StagingError):
                await self.tick()
            await asyncio.sleep(max(0.0, self.sample_interval - (time.monotonic() - started)))

    # routes ------------------------------------------------------------------------------
    async def config_route(self, request: Request) -> Response:
        since = int(query_number(request, "since", -1))
        wait = min(query_number(request, "wait", 0.0), 10.0)
        component = request.query_params.get("component")
        if component:
            self.plane.seen_versions[component] = since
        if since == self.plane.version and wait > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.plane.changed.wait(), timeout=wait)
        return JSONResponse(self.plane.runtime_config().model_dump(mode="json"))

    async def api(self, request: Request) -> Response:
        name = request.path_params["command"]
        handler = self.commands.get(name)
        if handler is None:
            return error_response(BadInput(f"command {name!r} unknown"))
        args = await json_object(request, f"the body of command {name!r}", empty_ok=True)
        op_id = args.pop("op_id", None)
        if op_id:
            previous = self.plane.store.op_result(str(op_id))
            if previous is not None:
                return JSONResponse(
                    {"result": previous["result"], "op_id": op_id, "idempotent_replay": True}
                )
        async with contextlib.AsyncExitStack() as stack:
            if not name.endswith((".status", ".show", ".log", ".list", ".pages", ".events")):
                await stack.enter_async_context(self.plane.lock)
            result = await handler(args)
        if op_id:
            self.plane.store.save_op(str(op_id), {"result": result})
        return JSONResponse({"result": result, "op_id": op_id, "idempotent_replay": False})

    async def admin_faults(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(
                {"faults": [self.plane.public_fault(f) for f in self.plane.store.faults()]}
            )
        body = await json_object(request, "fault body")
        kind, tenant, region, params = _fault_request(body)
        async with self.plane.lock:
            fault = await self.plane.inject(kind, tenant, region, params)
        return JSONResponse(self.plane.public_fault(fault), status_code=201)

    async def admin_fault_delete(self, request: Request) -> Response:
        async with self.plane.lock:
            result = await self.plane.remove(request.path_params["fault_id"])
        return JSONResponse(result)

    async def admin_holdings(self, request: Request) -> Response:
        """The holdings inventory of every region (or ``?region=``), read from each region's
        ``/internal/holdings`` at once; a region that does not answer is listed unreachable."""
        wanted = request.query_params.get("region") or None
        tenant = request.query_params.get("tenant") or None
        regions = [r for r in self.plane.region_specs() if wanted in (None, r.id)]
        if not regions:
            known = ", ".join(r.id for r in self.plane.region_specs())
            raise BadInput(f"region {wanted!r} unknown: known regions are {known}")
        answers = await asyncio.gather(*(self._holdings_of(r.id, tenant) for r in regions))
        return JSONResponse({"tenant": tenant, "regions": answers})

    async def _holdings_of(self, region: str, tenant: str | None) -> dict[str, object]:
        jurisdiction = next(r.jurisdiction for r in self.plane.region_specs() if r.id == region)
        entry: dict[str, object] = {"region": region, "jurisdiction": jurisdiction}
        try:
            response = await self.plane.client.get(
                f"{self.plane.region_url(region)}/internal/holdings",
                params={"tenant": tenant} if tenant else None,
                timeout=5.0,
            )
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            return {**entry, "reachable": False, "error": type(exc).__name__, "tenants": []}
        if not isinstance(body, dict):
            error = f"HTTP {response.status_code}"
            return {**entry, "reachable": False, "error": error, "tenants": []}
        return {**entry, "reachable": True, "error": None, "tenants": body.get("tenants", [])}

    async def healthz(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "component": "control",
                "time_scale": self.plane.time_scale,
                "defects": sorted(self.plane.defects),
            }
        )

    async def metrics_route(self, _request: Request) -> Response:
        return Response(
            exposition(self.plane.metrics.registry), media_type="text/plain; version=0.0.4"
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(self._tick_loop())
        self.plane.metrics.up.labels("control").set(1)
        try:
            yield
        finally:
            task.cancel()
            await self.plane.client.aclose()

    def app(self) -> Starlette:
        s = self.plane.secret
        return Starlette(
            routes=[
                Route("/healthz", self.healthz),
                Route("/metrics", self.metrics_route),
                Route("/internal/config", guarded(s, self.config_route)),
                Route("/api/{command}", guarded(s, self.api), methods=["POST"]),
                Route("/admin/faults", guarded(s, self.admin_faults), methods=["GET", "POST"]),
                Route("/admin/holdings", guarded(s, self.admin_holdings)),
                Route(
                    "/admin/faults/{fault_id}",
                    guarded(s, self.admin_fault_delete),
                    methods=["DELETE"],
                ),
            ],
            lifespan=self.lifespan,
        )


_FAULT_FIELDS = ("kind", "tenant", "region", "params")


def _fault_request(
    body: dict[str, object],
) -> tuple[str, str | None, str | None, dict[str, object]]:
    """(kind, tenant, region, params) of a ``POST /admin/faults`` body, or BadInput (400)."""
    unknown = sorted(set(body) - set(_FAULT_FIELDS))
    if unknown:
        raise BadInput(
            f"fault body field {quoted(unknown[0])} unknown: use {', '.join(_FAULT_FIELDS)}"
        )
    kind = body.get("kind")
    if not isinstance(kind, str) or not kind:
        raise BadInput(f"fault body needs 'kind', a fault kind name, got {quoted(kind)}")
    scope: list[str | None] = []
    for name in ("tenant", "region"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise BadInput(f"fault body {name!r} must be a string or null, got {quoted(value)}")
        scope.append(value or None)
    params = body.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise BadInput(f"fault body 'params' must be a JSON object, got {quoted(params)}")
    return kind, scope[0], scope[1], params
