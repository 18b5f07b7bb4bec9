"""The autonomy engine of plan §B: tiers T0–T3, scope, HITL, shadow simulation, approval
tokens, enactment with drift/risk/residency aborts, compensation and audit records.

Tiers: T0 off · T1 simulate only · T2 simulate, enactments disabled (the §B.5 downgrade) ·
T3 scoped autonomy (enact with an approval token when HITL is required).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from mc_staging.control_store import ControlStore
from mc_staging.errors import BadInput, PolicyRefused
from mc_staging.metrics import ControlMetrics
from mc_staging.model import active_faults
from mc_staging.seed import TenantRecord
from mc_staging.tokens import TokenRefused, approval_ttl, mint, token_fingerprint, verify

TIERS = ("T0", "T1", "T2", "T3")
SCOPES = ("read-only", "read-write")
# op-set -> the class of operation it performs (plan §B.1)
OP_SETS = {
    "derived_updates": "derived",
    "export_entities": "export",
    "retention_purge": "retention",
    "cross_tenant_sync": "cross-tenant",
}
RISK_ANOMALY_DELTA = 0.2


class RegionGateway(Protocol):
    async def snapshot(self, region: str, tenant: str) -> dict[str, object]: ...

    async def set_derived(
        self,
        region: str,
        tenant: str,
        expected: dict[str, str | None] | None,
        values: dict[str, str | None],
    ) -> tuple[int, dict[str, object]]: ...


def record_digest(record: dict[str, object]) -> str:
    body = {k: v for k, v in record.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def compute_derived(base: list[list[object]]) -> dict[str, str]:
    """The derived_updates op-set, run in a shadow SQLite copy: per key category, the count of
    entities and the bytes of their values."""
    shadow = sqlite3.connect(":memory:")
    shadow.execute("CREATE TABLE entities (key TEXT, value TEXT)")
    shadow.executemany("INSERT INTO entities VALUES (?, ?)", [(r[0], r[1]) for r in base])
    rows = shadow.execute(
        "SELECT CASE WHEN instr(key, ':') > 0 THEN substr(key, 1, instr(key, ':') - 1)"
        " ELSE 'default' END AS cat, COUNT(*), COALESCE(SUM(LENGTH(value)), 0)"
        " FROM entities GROUP BY cat ORDER BY cat"
    ).fetchall()
    shadow.close()
    derived: dict[str, str] = {}
    for cat, count, size in rows:
        derived[f"count:{cat}"] = str(count)
        derived[f"bytes:{cat}"] = str(size)
    return derived


def _rows_before_after(
    sim: dict[str, object],
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """The derived rows a simulation's predicted changes expect, and the values they write."""
    changes = list(sim["predicted_changes"])  # type: ignore[call-overload]
    expected = {str(c["name"]): c["before"] for c in changes}
    values = {str(c["name"]): c["after"] for c in changes}
    return expected, values


class AutonomyEngine:
    def __init__(
        self,
        store: ControlStore,
        metrics: ControlMetrics,
        signing_key: bytes,
        gateway: RegionGateway,
        save_tenant: Callable[[TenantRecord, str, dict[str, object]], Awaitable[None]],
        *,
        defects: frozenset[str] = frozenset(),
    ) -> None:
        self.defects = defects
        self.store = store
        self.metrics = metrics
        self.key = signing_key
        self.gateway = gateway
        self.save_tenant = save_tenant

    # configuration -----------------------------------------------------------------------
    async def set(
        self, tenant: TenantRecord, tier: str, scope: str | None, require_hitl: bool | None
    ) -> dict[str, object]:
        if tier not in TIERS:
            raise BadInput(f"tier {tier!r} unknown: use one of {', '.join(TIERS)}")
        if scope is not None and scope not in SCOPES:
            raise BadInput(f"scope {scope!r} unknown: use one of {', '.join(SCOPES)}")
        state = tenant.autonomy.model_copy()
        new_scope = scope or state.scope
        new_hitl = state.require_hitl if require_hitl is None else require_hitl
        if tier == "T3":
            if not tenant.autonomy_pilot:
                raise PolicyRefused(f"{tenant.id} is not the autonomy pilot tenant; T3 refused")
            if new_scope != "read-only":
                raise PolicyRefused(
                    "the T3 pilot is scoped read-only (plan §B.1); use --scope read-only"
                )
            if not new_hitl:
                raise PolicyRefused(
                    "the T3 pilot requires HITL (plan §B.1); use --require-hitl true"
                )
        state.tier = tier  # type: ignore[assignment]
        state.scope = new_scope
        state.require_hitl = new_hitl
        state.halted = False
        state.halt_reason = None
        tenant.autonomy = state
        await self.save_tenant(
            tenant, "autonomy.set", {"tier": tier, "scope": new_scope, "require_hitl": new_hitl}
        )
        return self.status(tenant)

    async def halt(self, tenant: TenantRecord, reason: str, actor: str) -> None:
        tenant.autonomy.halted = True
        tenant.autonomy.halt_reason = reason
        tenant.autonomy.scope = "read-only"
        await self.save_tenant(tenant, f"autonomy.halt[{actor}]", {"reason": reason})

    def status(self, tenant: TenantRecord) -> dict[str, object]:
        enactments = [e for e in self.store.documents("enactment") if e["tenant"] == tenant.id]
        sims = [s for s in self.store.documents("simulation") if s["tenant"] == tenant.id]
        comps = [c for c in self.store.documents("compensation") if c["tenant"] == tenant.id]
        attempted = len(enactments)
        succeeded = sum(1 for e in enactments if e["outcome"] == "succeeded")
        mismatches = sum(1 for e in enactments if e.get("matches_simulation") is False)
        return {
            "tenant": tenant.id,
            **tenant.autonomy.model_dump(),
            "enactments_enabled": tenant.autonomy.tier == "T3" and not tenant.autonomy.halted,
            "simulations": len(sims),
            "enactments": attempted,
            "succeeded": succeeded,
            "aborted": sum(1 for e in enactments if e["outcome"] == "aborted"),
            "compensations": len(comps),
            "success_rate": (succeeded / attempted) if attempted else None,
            "compensation_rate": (len(comps) / attempted) if attempted else None,
            "simulation_false_negatives": mismatches,
        }

    # simulate ----------------------------------------------------------------------------
    async def simulate(self, tenant: TenantRecord, op_set: str) -> dict[str, object]:
        if op_set not in OP_SETS:
            raise BadInput(
                f"op-set {op_set!r} unknown: known op-sets are {', '.join(sorted(OP_SETS))}"
            )
        if tenant.autonomy.tier == "T0":
            raise PolicyRefused(f"autonomy is off (T0) for {tenant.id}; `autonomy set` first")
        self._check_scope(tenant, op_set)
        region = tenant.failed_over_to or tenant.primary
        snapshot = await self.gateway.snapshot(region, tenant.id)
        base = list(snapshot["base"])  # type: ignore[call-overload]
        before = {str(k): str(v) for k, v in dict(snapshot["derived"]).items()}  # type: ignore[call-overload]
        after = compute_derived(base)
        changes = [
            {"name": n, "before": before.get(n), "after": after.get(n)}
            for n in sorted(set(before) | set(after))
            if before.get(n) != after.get(n)
        ]
        risk = round(0.05 + 0.45 * len(changes) / max(1, len(set(before) | set(after))), 4)
        record: dict[str, object] = {
            "kind": "simulation",
            "simulation_id": f"sim-{uuid.uuid4().hex[:12]}",
            "tenant": tenant.id,
            "op_set": op_set,
            "scope": tenant.autonomy.scope,
            "tier": tenant.autonomy.tier,
            "created_at": time.time(),
            "shadow": "sqlite-memory",
            "source_region": region,
            "regions": list(tenant.regions),
            "base_digest": snapshot["digest"],
            "base_entities": len(base),
            "base_versions": {str(r[0]): r[2] for r in base},
            "derived_before": before,
            "predicted_changes": changes,
            "risk_score": risk,
        }
        record["digest"] = record_digest(record)
        self.store.put_document("simulation", str(record["simulation_id"]), record)
        self.metrics.simulations.labels(tenant.id).inc()
        return record

    def _check_scope(self, tenant: TenantRecord, op_set: str) -> None:
        kind = OP_SETS[op_set]
        if kind == "derived":
            return
        if tenant.autonomy.scope == "read-only":
            raise PolicyRefused(
                f"op-set {op_set!r} performs {kind} operations, outside the "
                f"read-only scope of {tenant.id} (plan §B.1)"
            )
        if kind in ("export", "retention", "cross-tenant"):
            raise PolicyRefused(f"{kind} operations always need a human; not autonomous")

    def load_simulation(self, tenant: TenantRecord, record: dict[str, object]) -> dict[str, object]:
        stored = self.store.document("simulation", str(record.get("simulation_id")))
        if stored is None or record_digest(record) != record.get("digest") or stored != record:
            raise BadInput(
                "simulation record is not one this staging produced, or it was "
                "edited: run `autonomy simulate` again"
            )
        if record["tenant"] != tenant.id:
            raise BadInput(f"simulation is for {record['tenant']!r}, not {tenant.id!r}")
        return stored

    # approve -----------------------------------------------------------------------------
    async def approve(
        self, tenant: TenantRecord, simulation: dict[str, object], approver: str, ttl: object
    ) -> dict[str, object]:
        seconds = approval_ttl(ttl)
        sim = self.load_simulation(tenant, simulation)
        token, approval = mint(self.key, tenant.id, str(sim["digest"]), approver, seconds)
        self.store.append_provenance(
            approver,
            "autonomy.approve",
            tenant.id,
            {
                "token_id": approval.token_id,
                "simulation_id": sim["simulation_id"],
                "simulation_digest": sim["digest"],
                "expires_at": approval.expires_at,
            },
        )
        return {
            "token": token,
            "token_id": approval.token_id,
            "tenant": tenant.id,
            "simulation_id": sim["simulation_id"],
            "expires_at": approval.expires_at,
        }

    # enact -------------------------------------------------------------------------------
    async def enact(
        self,
        tenant: TenantRecord,
        token: str | None,
        simulation: dict[str, object],
        op_id: str | None = None,
    ) -> dict[str, object]:
        """Every attempt leaves exactly one `autonomy.enact` audit record in the provenance
        log: applied or aborted (`_apply`), or refused here (by policy or for a bad token),
        each with the caller's operation id and the token's fingerprint."""
        try:
            sim = self.load_simulation(tenant, simulation)
            approval = self._admit(tenant, token, sim)
            if tenant.autonomy.tier != "T3":  # only past `_admit` with the t2-still-enacts defect
                await self._write_predicted(tenant, sim)
                raise self._tier_refusal(tenant)
        except (PolicyRefused, BadInput) as exc:
            self.store.append_provenance(
                "autonomy-engine",
                "autonomy.enact",
                tenant.id,
                {
                    "enactment_id": None,
                    "op_id": op_id,
                    "outcome": "refused",
                    "refusal": getattr(exc, "reason", None) or exc.kind,
                    "message": str(exc),
                    "token_fingerprint": token_fingerprint(token) if token else None,
                },
            )
            raise
        return await self._apply(tenant, sim, approval, op_id)

    def _admit(
        self, tenant: TenantRecord, token: str | None, sim: dict[str, object]
    ) -> dict[str, object] | None:
        """Tier, halt, scope and approval-token checks; the approval reference to record."""
        if tenant.autonomy.tier != "T3" and not self._t2_still_enacts(tenant):
            raise self._tier_refusal(tenant)
        if tenant.autonomy.halted:
            raise PolicyRefused(
                f"autonomy of {tenant.id} is halted "
                f"({tenant.autonomy.halt_reason}); `autonomy set` to resume"
            )
        self._check_scope(tenant, str(sim["op_set"]))
        approval_ref: dict[str, object] | None = None
        if tenant.autonomy.require_hitl:
            if not token:
                self._refuse_token(tenant, "missing")
                raise BadInput("an approval token is required (HITL): pass --approval-token")
            try:
                approval = verify(self.key, token, tenant.id, str(sim["digest"]))
            except TokenRefused as exc:
                self._refuse_token(tenant, exc.reason)
                raise
            spent = self.store.insert_document(
                "used-token", approval.token_id, {"token_id": approval.token_id, "at": time.time()}
            )
            if not spent and "enact-accepts-replayed-token" not in self.defects:
                self._refuse_token(tenant, "replayed")
                raise BadInput("approval token was already used (single-use); approve again")
            approval_ref = {
                "token_id": approval.token_id,
                "token_fingerprint": token_fingerprint(token),
                "approver": approval.approver,
            }
        return approval_ref

    def _tier_refusal(self, tenant: TenantRecord) -> PolicyRefused:
        return PolicyRefused(
            f"enactments are disabled for {tenant.id} at tier "
            f"{tenant.autonomy.tier}; T3 is required"
        )

    def _t2_still_enacts(self, tenant: TenantRecord) -> bool:
        """Deliberate defect t2-still-enacts: at T2 the rest of admission (halt, scope, the
        approval token, spent as usual) still runs and the simulation's changes are written,
        while the attempt is answered and audited as refused by tier."""
        return tenant.autonomy.tier == "T2" and "t2-still-enacts" in self.defects

    async def _write_predicted(self, tenant: TenantRecord, sim: dict[str, object]) -> None:
        """Write the simulation's predicted derived rows to the tenant's regions (compare and
        set on the rows it saw), leaving no enactment record: the t2-still-enacts defect."""
        expected, values = _rows_before_after(sim)
        for region in tenant.regions:
            await self.gateway.set_derived(region, tenant.id, expected, values)

    def _refuse_token(self, tenant: TenantRecord, reason: str) -> None:
        self.metrics.token_refusals.labels(tenant.id, reason).inc()

    async def _apply(
        self,
        tenant: TenantRecord,
        sim: dict[str, object],
        approval: dict[str, object] | None,
        op_id: str | None,
    ) -> dict[str, object]:
        started = time.time()
        changes = list(sim["predicted_changes"])  # type: ignore[call-overload]
        expected, values = _rows_before_after(sim)
        record: dict[str, object] = {
            "kind": "enactment",
            "enactment_id": f"enact-{uuid.uuid4().hex[:12]}",
            "tenant": tenant.id,
            "simulation_id": sim["simulation_id"],
            "simulation_digest": sim["digest"],
            "op_set": sim["op_set"],
            "approval": approval,
            "started_at": started,
            "regions": list(tenant.regions),
            "prior_state": expected,
            "applied_changes": changes,
            "outcome": "succeeded",
            "abort_reason": None,
            "applied_regions": [],
            "risk_score_simulated": sim["risk_score"],
        }
        abort = await self._pre_checks(tenant, sim, record)
        blind = "simulator-blind-to-drift" in self.defects
        applied: list[str] = []
        targets = self._placement(tenant)
        record["regions"] = targets
        if abort is None:
            for region in targets:
                status, body = await self.gateway.set_derived(
                    region, tenant.id, None if blind else expected, values
                )
                if status == 200:
                    applied.append(region)
                    continue
                if status == 451 and "enact-skips-residency-denial" in self.defects:
                    continue  # deliberate defect: carries on around the residency gate
                abort = (
                    "residency_denial"
                    if status == 451
                    else "drift"
                    if status == 409
                    else f"region_error_{status}"
                )
                record["abort_details"] = body
                break
        if abort is not None:
            for region in applied:  # undo the partial enactment
                await self.gateway.set_derived(region, tenant.id, None, expected)
            record["outcome"] = "aborted"
            record["abort_reason"] = abort
            self.metrics.aborts.labels(tenant.id, abort).inc()
        else:
            record["applied_regions"] = applied
            record["matches_simulation"] = await self._verify(tenant, values)
            if not record["matches_simulation"]:
                self.metrics.sim_mismatches.labels(tenant.id).inc()
        record["finished_at"] = time.time()
        record["digest"] = record_digest(record)
        self.store.put_document("enactment", str(record["enactment_id"]), record)
        self.metrics.enactments.labels(tenant.id, str(record["outcome"])).inc()
        if record["outcome"] == "aborted" and "aborted-enactment-unaudited" in self.defects:
            return record  # deliberate defect: an aborted enactment leaves no audit record
        self.store.append_provenance(
            "autonomy-engine",
            "autonomy.enact",
            tenant.id,
            {
                "enactment_id": record["enactment_id"],
                "op_id": op_id,
                "outcome": record["outcome"],
                "abort_reason": record["abort_reason"],
                "digest": record["digest"],
                "token_id": approval["token_id"] if approval else None,
                "token_fingerprint": approval["token_fingerprint"] if approval else None,
            },
        )
        return record

    def _placement(self, tenant: TenantRecord) -> list[str]:
        """The regions an enactment writes to: the tenant's own, then any a `placement-drift`
        fault added (a misconfigured placement; their residency gate must deny the write)."""
        drifted = [
            str(fault.region)
            for fault in active_faults(self.store.faults(), "placement-drift", tenant=tenant.id)
            if fault.region is not None and fault.region not in tenant.regions
        ]
        return [*tenant.regions, *dict.fromkeys(drifted)]

    async def _pre_checks(
        self, tenant: TenantRecord, sim: dict[str, object], record: dict[str, object]
    ) -> str | None:
        """§B.4 auto-aborts before applying: derived drift and risk-score anomaly."""
        snapshot = await self.gateway.snapshot(str(sim["source_region"]), tenant.id)
        current = {str(k): str(v) for k, v in dict(snapshot["derived"]).items()}  # type: ignore[call-overload]
        before = {str(k): str(v) for k, v in dict(sim["derived_before"]).items()}  # type: ignore[call-overload]
        # any change of the tenant's derived data since the simulation is drift
        drifted = sorted(n for n in set(before) | set(current) if before.get(n) != current.get(n))
        sim_versions = dict(sim["base_versions"])  # type: ignore[call-overload]
        now_versions = {str(r[0]): r[2] for r in snapshot["base"]}  # type: ignore[attr-defined]
        keys = set(sim_versions) | set(now_versions)
        moved = sum(1 for k in keys if sim_versions.get(k) != now_versions.get(k))
        base_drift = moved / max(1, len(keys))
        risk_now = round(float(str(sim["risk_score"])) + base_drift, 4)
        record["risk_score_at_enact"] = risk_now
        record["drifted_rows"] = drifted
        if drifted and "simulator-blind-to-drift" not in self.defects:
            return "drift"
        anomaly = abs(risk_now - float(str(sim["risk_score"]))) > RISK_ANOMALY_DELTA
        if anomaly and "risk-check-off" not in self.defects:
            return "risk_anomaly"
        return None

    async def _verify(self, tenant: TenantRecord, values: dict[str, str | None]) -> bool:
        for region in tenant.regions:
            snapshot = await self.gateway.snapshot(region, tenant.id)
            current = dict(snapshot["derived"])  # type: ignore[call-overload]
            if any(current.get(n) != v for n, v in values.items()):
                return False
        return True

    # compensate --------------------------------------------------------------------------
    async def compensate(
        self, tenant: TenantRecord, enactment: dict[str, object]
    ) -> dict[str, object]:
        stored = self.store.document("enactment", str(enactment.get("enactment_id")))
        if (
            stored is None
            or stored != enactment
            or record_digest(enactment) != enactment.get("digest")
        ):
            raise BadInput(
                "enactment record is not one this staging produced, or it was "
                "edited: pass the --evidence file `autonomy enact` wrote"
            )
        if stored["tenant"] != tenant.id:
            raise BadInput(f"enactment is for {stored['tenant']!r}, not {tenant.id!r}")
        previous = self.store.document("compensation", str(stored["enactment_id"]))
        if previous is not None:
            return {**previous, "already_compensated": True}
        if stored["outcome"] != "succeeded":
            raise PolicyRefused(
                f"enactment {stored['enactment_id']} was {stored['outcome']}; nothing to compensate"
            )
        prior = {
            str(k): (None if v is None else str(v)) for k, v in dict(stored["prior_state"]).items()
        }  # type: ignore[call-overload]
        restored: list[str] = []
        for region in list(stored["applied_regions"]):  # type: ignore[call-overload]
            if "compensation-noop" in self.defects:  # deliberate defect: claims, writes nothing
                restored.append(str(region))
                continue
            status, _ = await self.gateway.set_derived(str(region), tenant.id, None, prior)
            if status == 200:
                restored.append(str(region))
        record: dict[str, object] = {
            "kind": "compensation",
            "enactment_id": stored["enactment_id"],
            "tenant": tenant.id,
            "at": time.time(),
            "restored_regions": restored,
            "restored_state": prior,
            "already_compensated": False,
        }
        record["digest"] = record_digest(record)
        self.store.put_document("compensation", str(stored["enactment_id"]), record)
        self.metrics.compensations.labels(tenant.id).inc()
        self.store.append_provenance(
            "autonomy-engine",
            "autonomy.compensate",
            tenant.id,
            {"enactment_id": stored["enactment_id"], "restored_regions": restored},
        )
        return record
