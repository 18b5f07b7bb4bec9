"""Control-plane domain logic: tenant registry, rollout state machine, GLB bias, flags, DR,
faults (with the region supervisor) and the tripwire auto-actions.

Every mutation is appended to the provenance log and bumps the runtime config version, which
regions and the GLB pick up by long-poll; mutations wait until every follower has it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Mapping

import httpx

from mc_staging import defects as defect_switches
from mc_staging.control_store import ControlStore
from mc_staging.errors import BadInput, PolicyRefused, Unreachable, quoted
from mc_staging.faults import fault_params
from mc_staging.metrics import ControlMetrics
from mc_staging.model import (
    STAGE_INDEX,
    STAGE_MIN_PLAN_SECONDS,
    STAGE_SECONDARY_WEIGHT,
    STAGES,
    Fault,
    RegionSpec,
    RuntimeConfig,
    TenantRuntime,
)
from mc_staging.routing import tenant_weights
from mc_staging.seed import REGIONS, TenantRecord
from mc_staging.statedir import StateDir, pid_alive, spawn
from mc_staging.wiring import async_client


class ControlPlane:
    def __init__(self, state_dir: StateDir, time_scale: float) -> None:
        self.state_dir = state_dir
        self.time_scale = time_scale
        self.defects = defect_switches.active(state_dir)
        self.secret = state_dir.admin_secret()
        self.store = ControlStore(state_dir.control_db)
        self.metrics = ControlMetrics()
        self.version = 1
        self.changed = asyncio.Event()
        self.seen_versions: dict[str, int] = {}
        self.client = async_client(50)
        self.client.headers["authorization"] = f"Bearer {self.secret}"
        self.lock = asyncio.Lock()
        self._ports: dict[str, int] | None = None
        self._config: RuntimeConfig | None = None

    # registry & config -------------------------------------------------------------------
    def tenants(self) -> dict[str, TenantRecord]:
        return self.store.tenants()

    def tenant(self, tenant_id: str | None) -> TenantRecord:
        tenants = self.tenants()
        if tenant_id not in tenants:
            raise BadInput(
                f"tenant {tenant_id!r} unknown: known tenants are {', '.join(sorted(tenants))}"
            )
        return tenants[str(tenant_id)]

    def region_specs(self) -> list[RegionSpec]:
        if self._ports is None:
            self._ports = self.state_dir.ports()
        ports = self._ports
        return [
            RegionSpec(
                id=r.id,
                jurisdiction=r.jurisdiction,
                url=f"http://127.0.0.1:{ports[f'region-{r.id}']}",
            )
            for r in REGIONS
        ]

    def region_url(self, region: str) -> str:
        return next(r.url for r in self.region_specs() if r.id == region)

    def runtime_config(self) -> RuntimeConfig:
        if self._config is not None and self._config.version == self.version:
            return self._config
        faults = self.store.faults()
        tenants = {
            t.id: TenantRuntime(
                id=t.id,
                residency=t.residency,
                mode=t.mode,
                regions=t.regions,
                primary=t.failed_over_to or t.primary,
                weights=tenant_weights(t, faults),
                purposes=t.purposes,
                persisted_only=t.persisted_only,
                persisted_queries=t.persisted_queries,
                ttl_autotune=t.ttl_autotune,
                query_budget_units_per_second=int(
                    t.readiness.query_budgets.get("units_per_second", 5000)
                ),
                stage=t.stage,
                paused=t.paused,
            )
            for t in self.tenants().values()
        }
        self._config = RuntimeConfig(
            version=self.version,
            time_scale=self.time_scale,
            regions=self.region_specs(),
            tenants=tenants,
            faults=faults,
        )
        return self._config

    async def publish(self, wait: bool = True) -> None:
        """Bump the config version and wait (≤ 2 s) until regions and the GLB have it."""
        self.version += 1
        self.changed.set()
        self.changed = asyncio.Event()
        if not wait:
            return
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            live = [c for c, v in self.seen_versions.items() if self._component_alive(c)]
            if all(self.seen_versions[c] >= self.version for c in live):
                return
            await asyncio.sleep(0.02)

    def _component_alive(self, component: str) -> bool:
        pid = self.state_dir.pids().get(component)
        return pid is not None and pid_alive(pid)

    async def save(
        self, tenant: TenantRecord, action: str, details: dict[str, object], actor: str = "operator"
    ) -> None:
        self.store.save_tenant(tenant)
        self.store.append_provenance(actor, action, tenant.id, details)
        await self.publish()

    # status ------------------------------------------------------------------------------
    def tenant_status(self, tenant: TenantRecord) -> dict[str, object]:
        faults = self.store.faults()
        elapsed_plan = (time.time() - tenant.stage_entered_at) * self.time_scale
        return {
            "tenant": tenant.id,
            "wave": tenant.wave,
            "residency": tenant.residency,
            "mode": tenant.mode,
            "mode_short": "A/A" if tenant.mode == "active-active" else "A/P",
            "regions": tenant.regions,
            "primary": tenant.failed_over_to or tenant.primary,
            "failed_over_to": tenant.failed_over_to,
            "rollout": {
                "stage": tenant.stage,
                "stage_index": STAGE_INDEX[tenant.stage],
                "weight": STAGE_SECONDARY_WEIGHT[tenant.stage],
                "paused": tenant.paused,
                "pause_reason": tenant.pause_reason,
                "stage_entered_at": tenant.stage_entered_at,
                "stage_elapsed_plan_seconds": round(elapsed_plan, 3),
                "stage_min_plan_seconds": STAGE_MIN_PLAN_SECONDS[tenant.stage],
            },
            "flags": {"ttl_autotune": tenant.ttl_autotune, "persisted_only": tenant.persisted_only},
            "glb": {"weights": tenant_weights(tenant, faults), "bias": tenant.glb_bias},
            "purposes": tenant.purposes,
            "autonomy_pilot": tenant.autonomy_pilot,
            "autonomy": tenant.autonomy.model_dump(),
            "slo_baseline": tenant.readiness.slo_baseline.model_dump(),
        }

    # rollout -----------------------------------------------------------------------------
    async def advance(self, tenant: TenantRecord, force: bool) -> dict[str, object]:
        if tenant.paused:
            raise PolicyRefused(
                f"rollout of {tenant.id} is paused ({tenant.pause_reason}); `rollout resume` first"
            )
        if tenant.stage == "ga":
            raise PolicyRefused(f"{tenant.id} is already at GA")
        elapsed = (time.time() - tenant.stage_entered_at) * self.time_scale
        needed = STAGE_MIN_PLAN_SECONDS[tenant.stage]
        if elapsed < needed and not force:
            raise PolicyRefused(
                f"{tenant.id} has been in {tenant.stage} for {elapsed:.0f} plan s of "
                f"{needed:.0f}; wait {(needed - elapsed) / self.time_scale:.1f} wall s "
                "or pass --force"
            )
        previous = tenant.stage
        tenant.stage = (
            "bake" if tenant.stage == "rolled-back" else STAGES[STAGES.index(tenant.stage) + 1]
        )
        tenant.stage_entered_at = time.time()
        if tenant.stage in ("canary-20", "canary-50", "ga"):
            tenant.mode = "active-active"
        await self.save(
            tenant,
            "rollout.advance",
            {"from": previous, "to": tenant.stage, "forced": force and elapsed < needed},
        )
        return self.tenant_status(tenant)

    async def pause(self, tenant: TenantRecord, reason: str, actor: str = "operator") -> None:
        if "never-pauses" not in self.defects:
            tenant.paused = True
            tenant.pause_reason = reason
        await self.save(tenant, "rollout.pause", {"reason": reason}, actor)

    async def resume(
        self, tenant: TenantRecord, budget_remaining: float | None, force: bool
    ) -> dict[str, object]:
        if not tenant.paused:
            raise PolicyRefused(f"rollout of {tenant.id} is not paused")
        if budget_remaining is not None and budget_remaining < 0.6 and not force:
            raise PolicyRefused(
                f"error budget of {tenant.id} is at {budget_remaining:.1%} "
                "(< 60%); `slo reset-budget` or pass --force"
            )
        tenant.paused = False
        tenant.pause_reason = None
        await self.save(tenant, "rollout.resume", {"forced": force})
        return self.tenant_status(tenant)

    async def rollback(
        self, tenant: TenantRecord, reason: str, actor: str = "operator"
    ) -> dict[str, object]:
        previous = tenant.stage
        tenant.mode = "active-passive"
        tenant.stage = "rolled-back"
        tenant.stage_entered_at = time.time()
        await self.save(
            tenant,
            "rollout.rollback",
            {"from": previous, "to": "rolled-back (A/P)", "reason": reason},
            actor,
        )
        return self.tenant_status(tenant)

    # glb & flags -------------------------------------------------------------------------
    async def bias(
        self,
        tenant: TenantRecord,
        region: str,
        weight: int,
        actor: str = "operator",
        reason: str = "",
    ) -> dict[str, object]:
        if region not in tenant.regions:
            raise BadInput(
                f"region {region!r} does not serve {tenant.id}: use one of "
                f"{', '.join(tenant.regions)}"
            )
        if not 0 <= weight <= 100:
            raise BadInput(f"--weight must be within 0..100, got {weight}")
        others = [r for r in tenant.regions if r != region]
        bias = {region: weight, **{r: (100 - weight) // len(others) for r in others}}
        if "glb-never-biases" not in self.defects:
            tenant.glb_bias = bias
        await self.save(tenant, "glb.bias", {"bias": bias, "reason": reason}, actor)
        if weight == 100 and "provenance-rewritten" in self.defects:
            # deliberate defect: a backout "tidies" the tenant's previous record, re-hashing
            # the chain after it so that the chain still verifies
            earlier = self.store.provenance(tenant.id, limit=2)[:-1]
            if earlier:
                details = dict(earlier[0]["details"])  # type: ignore[call-overload]
                self.store.rewrite_provenance(
                    int(str(earlier[0]["seq"])), {**details, "superseded_by": "backout"}
                )
        return self.tenant_status(tenant)

    async def unbias(self, tenant: TenantRecord) -> dict[str, object]:
        tenant.glb_bias = None
        await self.save(tenant, "glb.unbias", {})
        return self.tenant_status(tenant)

    async def set_flag(self, tenant: TenantRecord, flag: str, value: bool) -> dict[str, object]:
        if flag == "ttl-autotune":
            tenant.ttl_autotune = value
        elif flag == "persisted-only":
            tenant.persisted_only = value
        else:
            raise BadInput(f"flag {flag!r} unknown: use ttl-autotune or persisted-only")
        await self.save(tenant, "flags.set", {"flag": flag, "value": value})
        return self.tenant_status(tenant)

    # DR ----------------------------------------------------------------------------------
    async def failover(
        self, tenant: TenantRecord, to: str | None, lag_into: dict[str, float]
    ) -> dict[str, object]:
        source = tenant.failed_over_to or tenant.primary
        target = to or next(r for r in tenant.regions if r != source)
        if target not in tenant.regions or target == source:
            raise BadInput(
                f"cannot fail {tenant.id} over from {source} to {target!r}: "
                f"choose another of {', '.join(tenant.regions)}"
            )
        started = time.time()
        tenant.failed_over_to = target
        tenant.glb_bias = None
        await self.save(tenant, "dr.failover", {"from": source, "to": target})
        serving_at = await self._probe(target, tenant)
        record: dict[str, object] = {
            "kind": "failover",
            "id": f"dr-{uuid.uuid4().hex[:10]}",
            "tenant": tenant.id,
            "from": source,
            "to": target,
            "started_at": started,
            "serving_at": serving_at,
            "rto_wall_seconds": None if serving_at is None else serving_at - started,
            "rpo_wall_seconds": lag_into.get(target, 0.0),
            "time_scale": self.time_scale,
        }
        self.store.put_document("dr", str(record["id"]), record)
        return record

    async def failback(self, tenant: TenantRecord) -> dict[str, object]:
        if tenant.failed_over_to is None:
            raise PolicyRefused(f"{tenant.id} is not failed over")
        original = tenant.primary
        if not await self._healthy(original):
            raise PolicyRefused(f"region {original} is not healthy; failback refused")
        started = time.time()
        previous = tenant.failed_over_to
        tenant.failed_over_to = None
        await self.save(tenant, "dr.failback", {"from": previous, "to": original})
        serving_at = await self._probe(original, tenant)
        record: dict[str, object] = {
            "kind": "failback",
            "id": f"dr-{uuid.uuid4().hex[:10]}",
            "tenant": tenant.id,
            "from": previous,
            "to": original,
            "started_at": started,
            "serving_at": serving_at,
            "rto_wall_seconds": None if serving_at is None else serving_at - started,
            "time_scale": self.time_scale,
        }
        self.store.put_document("dr", str(record["id"]), record)
        return record

    async def _healthy(self, region: str) -> bool:
        try:
            response = await self.client.get(f"{self.region_url(region)}/healthz", timeout=0.5)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def _probe(self, region: str, tenant: TenantRecord) -> float | None:
        """First time ``region`` serves a persisted read of the tenant (RTO end)."""
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            try:
                response = await self.client.post(
                    f"{self.region_url(region)}/v1/tenants/{tenant.id}/query",
                    json={"id": "get_derived"},
                    headers={"x-mc-purpose": tenant.purposes[0]},
                    timeout=1.0,
                )
                if response.status_code == 200:
                    return time.time()
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
        return None

    # faults ------------------------------------------------------------------------------
    async def inject(
        self,
        kind: str,
        tenant: str | None,
        region: str | None,
        params: Mapping[str, object],
    ) -> Fault:
        checked = fault_params(kind, params)
        if tenant is not None:
            self.tenant(tenant)
        if region is not None and region not in {r.id for r in REGIONS}:
            raise BadInput(
                f"region {quoted(region)} unknown: use one of {', '.join(r.id for r in REGIONS)}"
            )
        needs_tenant = kind in (
            "conflict-storm",
            "non-persisted-burst",
            "derived-drift",
            "residency-regression",
            "placement-drift",
        )
        if needs_tenant and tenant is None:
            raise BadInput(f"fault {kind!r} needs --tenant")
        if kind in ("region-crash", "residency-regression", "placement-drift") and region is None:
            raise BadInput(f"fault {kind!r} needs --region")
        fault = Fault(
            id=f"fault-{uuid.uuid4().hex[:10]}",
            kind=kind,
            tenant=tenant,
            region=region,
            params=dict(checked),
            injected_at=time.time(),
        )
        if kind == "region-crash":
            self._kill_region(str(region))
        if kind == "derived-drift":
            try:
                fault = await self._drift(fault)
            except httpx.HTTPError as exc:
                raise Unreachable(
                    f"a region of {tenant} did not answer ({type(exc).__name__}), so the "
                    f"derived-drift fault was not injected; check `mc-staging status`"
                ) from None
        self.store.add_fault(fault)
        self.store.append_provenance(
            "admin",
            "fault.inject",
            tenant,
            {
                "fault_id": fault.id,
                "kind": kind,
                "region": region,
                "params": checked,
            },
        )
        await self.publish()
        return fault

    async def remove(self, fault_id: str) -> dict[str, object]:
        fault = next((f for f in self.store.faults() if f.id == fault_id), None)
        if fault is None:
            raise BadInput(f"fault {fault_id!r} is not active")
        details: dict[str, object] = {"fault_id": fault.id, "kind": fault.kind}
        if fault.kind == "region-crash":
            details["restarted_pid"] = await self._restart_region(str(fault.region))
        if fault.kind == "derived-drift":
            original = json.loads(str(fault.params["original"]))
            for region, rows in original.items():
                await self.client.post(
                    f"{self.region_url(region)}/internal/tenants/{fault.tenant}/derived",
                    json={"values": {**{n: None for n in ("count:drift",)}, **rows}},
                )
        self.store.remove_fault(fault.id)
        if fault.kind == "residency-regression":
            # remediation: out-of-jurisdiction copies are purged when the regression is fixed,
            # once the GLB stops leaking and the gate is closed everywhere (publish waits for
            # every component to have the config): a write leaked in between would outlive it
            await self.publish()
            response = await self.client.post(
                f"{self.region_url(str(fault.region))}/internal/tenants/{fault.tenant}/purge"
            )
            details["purged"] = response.json().get("purged")
        self.store.append_provenance("admin", "fault.remove", fault.tenant, details)
        await self.publish()
        return {"removed": fault.id, **details}

    def _kill_region(self, region: str) -> None:
        pid = self.state_dir.pids().get(f"region-{region}")
        if pid is None or not pid_alive(pid):
            raise PolicyRefused(f"region {region} is not running")
        os.kill(pid, signal.SIGKILL)

    async def _restart_region(self, region: str) -> int:
        component = f"region-{region}"
        pid = self.state_dir.pids().get(component)
        if pid is not None and pid_alive(pid):
            return pid
        argv = list(self.state_dir.read_json(self.state_dir.processes_file)[component])  # type: ignore[call-overload]
        new_pid = spawn([str(a) for a in argv], self.state_dir.log_file(component))
        self.state_dir.set_pid(component, new_pid)
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and not await self._healthy(region):
            await asyncio.sleep(0.1)
        return new_pid

    async def _drift(self, fault: Fault) -> Fault:
        """Change derived rows behind the autonomy engine's back; keep the originals."""
        tenant = self.tenant(fault.tenant)
        original: dict[str, dict[str, str | None]] = {}
        for region in tenant.regions:
            snap = (
                await self.client.get(
                    f"{self.region_url(region)}/internal/tenants/{tenant.id}/snapshot"
                )
            ).json()
            rows = dict(snap["derived"])
            original[region] = {**rows, "count:drift": None}
            drifted: dict[str, str | None] = {n: f"{v}-drift" for n, v in rows.items()}
            drifted["count:drift"] = "1"
            await self.client.post(
                f"{self.region_url(region)}/internal/tenants/{tenant.id}/derived",
                json={"values": drifted},
            )
        return fault.model_copy(
            update={"params": {**fault.params, "original": json.dumps(original)}}
        )

    def public_fault(self, fault: Fault) -> dict[str, object]:
        data = fault.model_dump()
        data["params"] = {k: v for k, v in fault.params.items() if k != "original"}
        return data
