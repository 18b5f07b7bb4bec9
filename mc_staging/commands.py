"""The control contract's commands as the control plane executes them (``POST /api/{name}``).

Each handler takes the JSON arguments the CLI sent and returns a JSON-able result; the CLI
prints it (``--json``) or a human line. Argument errors raise BadInput (exit 2).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx

from mc_staging.errors import BadInput, PolicyRefused, quoted
from mc_staging.model import RuntimeConfig
from mc_staging.tripwires import ACTIONS

if TYPE_CHECKING:
    from mc_staging.control_app import ControlServer

Handler = Callable[[dict[str, object]], Awaitable[object]]


def _str(args: dict[str, object], name: str, default: str | None = None) -> str:
    value = args.get(name, default)
    if value is None or value == "":
        raise BadInput(f"--{name.replace('_', '-')} is required")
    return str(value)


def _bool(args: dict[str, object], name: str, default: bool = False) -> bool:
    value = args.get(name, default)
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "on", "yes", "1"):
        return True
    if text in ("false", "off", "no", "0"):
        return False
    raise BadInput(f"--{name.replace('_', '-')} must be true or false, got {value!r}")


def _number(args: dict[str, object], name: str, default: float, low: float, high: float) -> float:
    """A finite number argument in [low, high]; the CLI sends numbers, other callers may send
    their text. A boolean is not a number."""
    value = args.get(name, default)
    number: float | None = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            number = None
    if number is None or not math.isfinite(number) or not low <= number <= high:
        raise BadInput(
            f"--{name.replace('_', '-')} must be a number from {low:g} to {high:g}, "
            f"got {quoted(value)}"
        )
    return number


def _whole(args: dict[str, object], name: str, default: int, low: int, high: int) -> int:
    number = _number(args, name, default, low, high)
    if not number.is_integer():
        raise BadInput(f"--{name.replace('_', '-')} must be a whole number, got {number:g}")
    return int(number)


def _record(args: dict[str, object], name: str) -> dict[str, object]:
    value = args.get(name)
    if not isinstance(value, dict):
        raise BadInput(f"{name} must be a JSON object")
    return value


def build_commands(server: ControlServer) -> dict[str, Handler]:
    plane = server.plane
    autonomy = server.autonomy

    def tenant(args: dict[str, object]):  # type: ignore[no-untyped-def]
        return plane.tenant(_str(args, "tenant"))

    def selected(args: dict[str, object]) -> list[str]:
        if args.get("tenant"):
            return [plane.tenant(str(args["tenant"])).id]
        return sorted(plane.tenants())

    def budget_remaining(tenant_id: str) -> float | None:
        reading = server.readings.get(tenant_id)
        return reading.error_budget_remaining if reading else None

    async def tenant_status(args: dict[str, object]) -> object:
        return plane.tenant_status(tenant(args))

    async def tenant_list(args: dict[str, object]) -> object:
        return {"tenants": [plane.tenant_status(t) for t in plane.tenants().values()]}

    async def rollout_status(args: dict[str, object]) -> object:
        return {
            "tenants": [
                {
                    **dict(plane.tenant_status(plane.tenant(t))["rollout"]),  # type: ignore[call-overload]
                    "tenant": t,
                }
                for t in selected(args)
            ]
        }

    async def rollout_advance(args: dict[str, object]) -> object:
        return await plane.advance(tenant(args), _bool(args, "force"))

    async def rollout_pause(args: dict[str, object]) -> object:
        record = tenant(args)
        await plane.pause(record, str(args.get("reason") or "operator"))
        return plane.tenant_status(record)

    async def rollout_resume(args: dict[str, object]) -> object:
        record = tenant(args)
        return await plane.resume(record, budget_remaining(record.id), _bool(args, "force"))

    async def rollout_rollback(args: dict[str, object]) -> object:
        return await plane.rollback(tenant(args), str(args.get("reason") or "operator"))

    async def glb_status(args: dict[str, object]) -> object:
        config: RuntimeConfig = plane.runtime_config()
        return {
            "regions": [
                {
                    "id": r.id,
                    "jurisdiction": r.jurisdiction,
                    "url": r.url,
                    "healthy": server.region_up.get(r.id, False),
                }
                for r in config.regions
            ],
            "tenants": {
                t: {
                    "weights": config.tenants[t].weights,
                    "bias": plane.tenant(t).glb_bias,
                    "failed_over_to": plane.tenant(t).failed_over_to,
                }
                for t in selected(args)
            },
        }

    async def glb_bias(args: dict[str, object]) -> object:
        weight = _whole(args, "weight", 100, 0, 100)
        return await plane.bias(tenant(args), _str(args, "region"), weight)

    async def glb_unbias(args: dict[str, object]) -> object:
        return await plane.unbias(tenant(args))

    async def flags_show(args: dict[str, object]) -> object:
        return {t: plane.tenant_status(plane.tenant(t))["flags"] for t in selected(args)}

    async def flags_set(args: dict[str, object]) -> object:
        return await plane.set_flag(tenant(args), _str(args, "flag"), _bool(args, "value"))

    async def dr_failover(args: dict[str, object]) -> object:
        record = tenant(args)
        latest = server.sampler.latest(record.id)
        lags = latest.lag_by_region if latest else {}
        to = str(args["to"]) if args.get("to") else None
        return await plane.failover(record, to, lags)

    async def dr_failback(args: dict[str, object]) -> object:
        return await plane.failback(tenant(args))

    async def dr_status(args: dict[str, object]) -> object:
        wanted = set(selected(args))
        return {
            "records": [r for r in plane.store.documents("dr") if r["tenant"] in wanted],
            "enrolment": {t: plane.tenant(t).readiness.dr_enrolment for t in wanted},
        }

    async def ops_replay(args: dict[str, object]) -> object:
        record = tenant(args)
        glb = f"http://127.0.0.1:{plane.state_dir.ports()['glb']}"
        try:
            response = await plane.client.post(
                f"{glb}/internal/replay", json={"tenant": record.id}, timeout=30.0
            )
        except httpx.HTTPError as exc:
            raise PolicyRefused("the GLB is unreachable; cannot replay its journal") from exc
        result = dict(response.json())
        plane.store.append_provenance("operator", "ops.replay", record.id, result)
        return result

    async def provenance_log(args: dict[str, object]) -> object:
        tenant_id = plane.tenant(str(args["tenant"])).id if args.get("tenant") else None
        ok, broken = plane.store.verify_provenance()
        return {
            "records": plane.store.provenance(tenant_id, _whole(args, "limit", 1000, 1, 1_000_000)),
            "chain_valid": ok,
            "first_broken_seq": broken,
        }

    async def dpo_pages(args: dict[str, object]) -> object:
        tenant_id = plane.tenant(str(args["tenant"])).id if args.get("tenant") else None
        return {"pages": plane.store.pages(tenant_id)}

    async def readiness_show(args: dict[str, object]) -> object:
        return {
            t: {
                "tenant": t,
                "wave": plane.tenant(t).wave,
                "residency": plane.tenant(t).residency,
                **plane.tenant(t).readiness.model_dump(),
            }
            for t in selected(args)
        }

    async def readiness_verify(args: dict[str, object]) -> object:
        record = tenant(args)
        jurisdictions = {r.id: r.jurisdiction for r in plane.region_specs()}
        wrong = [r for r in record.regions if jurisdictions.get(r) != record.residency]
        reading = server.readings.get(record.id)
        checks = {
            "residency_tags": not wrong,
            "slo_baseline": True,
            "query_budgets": True,
            "dr_enrolled": record.readiness.dr_enrolment.get("status") == "enrolled",
            "persisted_only_flag": record.persisted_only,
            "non_persisted_ratio": None if reading is None else reading.non_persisted_ratio,
        }
        return {
            "tenant": record.id,
            "checks": checks,
            "ready": all(v for k, v in checks.items() if k != "non_persisted_ratio"),
            "regions_out_of_jurisdiction": wrong,
        }

    async def readiness_set_budget(args: dict[str, object]) -> object:
        record = tenant(args)
        units = _number(args, "units_per_second", math.nan, 1, 1e9)
        record.readiness.query_budgets["units_per_second"] = units
        await plane.save(record, "readiness.set-budget", {"units_per_second": units})
        return {"tenant": record.id, "query_budgets": record.readiness.query_budgets}

    async def slo_status(args: dict[str, object]) -> object:
        out: dict[str, object] = {}
        for t in selected(args):
            reading = server.readings.get(t)
            out[t] = (
                None
                if reading is None
                else {
                    "error_budget_remaining": reading.error_budget_remaining,
                    "burn_1h_consumed": reading.burn_fast,
                    "burn_6h_consumed": reading.burn_slow,
                    "period": server.sampler.period(t),
                    "cost_units_plan_day": reading.cost_units_plan_day,
                }
            )
        return out

    async def slo_reset_budget(args: dict[str, object]) -> object:
        record = tenant(args)
        server.sampler.reset_period(record.id)
        plane.store.append_provenance("operator", "slo.reset-budget", record.id, {})
        return {"tenant": record.id, "reset": True}

    async def tripwires_status(args: dict[str, object]) -> object:
        states = server.evaluator.snapshot()
        out: dict[str, object] = {}
        for t in selected(args):
            reading = server.readings.get(t)
            latest = server.sampler.latest(t)
            out[t] = {
                name: {
                    "action": ACTIONS[name],
                    "holds": reading.conditions.get(name) if reading else None,
                    "value": reading.values.get(name) if reading else None,
                    **states.get(t, {}).get(name, {}),
                }
                for name in ACTIONS
            } | {
                "lag_wall_seconds": latest.lag_seconds if latest else None,
                "lag_by_region_wall_seconds": latest.lag_by_region if latest else {},
            }
        return {"time_scale": plane.time_scale, "tenants": out}

    async def tripwires_events(args: dict[str, object]) -> object:
        tenant_id = plane.tenant(str(args["tenant"])).id if args.get("tenant") else None
        return {"events": plane.store.tripwire_events(tenant_id)}

    async def autonomy_set(args: dict[str, object]) -> object:
        hitl = None if args.get("require_hitl") is None else _bool(args, "require_hitl")
        scope = str(args["scope"]) if args.get("scope") else None
        return await autonomy.set(tenant(args), _str(args, "tier"), scope, hitl)

    async def autonomy_simulate(args: dict[str, object]) -> object:
        return await autonomy.simulate(tenant(args), _str(args, "op_set"))

    async def autonomy_approve(args: dict[str, object]) -> object:
        return await autonomy.approve(
            tenant(args),
            _record(args, "simulation"),
            str(args.get("approver") or "hitl-operator"),
            args.get("ttl_seconds", 300.0),
        )

    async def autonomy_enact(args: dict[str, object]) -> object:
        token = args.get("approval_token")
        operation = args.get("operation_id")
        return await autonomy.enact(
            tenant(args),
            None if not token else str(token),
            _record(args, "simulation"),
            None if operation is None else str(operation),
        )

    async def autonomy_compensate(args: dict[str, object]) -> object:
        return await autonomy.compensate(tenant(args), _record(args, "enactment"))

    async def autonomy_status(args: dict[str, object]) -> object:
        return autonomy.status(tenant(args))

    async def autonomy_abort(args: dict[str, object]) -> object:
        record = tenant(args)
        await autonomy.halt(record, f"hitl-veto: {args.get('reason') or 'operator abort'}", "hitl")
        return autonomy.status(record)

    async def faults_list(args: dict[str, object]) -> object:
        return {"faults": [plane.public_fault(f) for f in plane.store.faults()]}

    async def faults_inject(args: dict[str, object]) -> object:
        params = args.get("params") or {}
        if not isinstance(params, dict):
            raise BadInput("fault params must be key=value pairs")
        fault = await plane.inject(
            _str(args, "kind"),
            str(args["tenant"]) if args.get("tenant") else None,
            str(args["region"]) if args.get("region") else None,
            params,
        )
        return plane.public_fault(fault)

    async def faults_remove(args: dict[str, object]) -> object:
        if args.get("all"):
            return {"removed": [await plane.remove(f.id) for f in plane.store.faults()]}
        return await plane.remove(_str(args, "id"))

    async def status(args: dict[str, object]) -> object:
        return {
            "time_scale": plane.time_scale,
            "config_version": plane.version,
            "regions": {r: {"up": up} for r, up in server.region_up.items()},
            "faults": [plane.public_fault(f) for f in plane.store.faults()],
            "tenants": {
                t.id: {"stage": t.stage, "mode": t.mode, "paused": t.paused}
                for t in plane.tenants().values()
            },
        }

    return {
        "status": status,
        "tenant.status": tenant_status,
        "tenant.list": tenant_list,
        "rollout.status": rollout_status,
        "rollout.advance": rollout_advance,
        "rollout.pause": rollout_pause,
        "rollout.resume": rollout_resume,
        "rollout.rollback": rollout_rollback,
        "glb.status": glb_status,
        "glb.bias": glb_bias,
        "glb.unbias": glb_unbias,
        "flags.show": flags_show,
        "flags.set": flags_set,
        "dr.failover": dr_failover,
        "dr.failback": dr_failback,
        "dr.status": dr_status,
        "ops.replay": ops_replay,
        "provenance.log": provenance_log,
        "dpo.pages": dpo_pages,
        "readiness.show": readiness_show,
        "readiness.verify": readiness_verify,
        "readiness.set-budget": readiness_set_budget,
        "slo.status": slo_status,
        "slo.reset-budget": slo_reset_budget,
        "tripwires.status": tripwires_status,
        "tripwires.events": tripwires_events,
        "autonomy.set": autonomy_set,
        "autonomy.simulate": autonomy_simulate,
        "autonomy.approve": autonomy_approve,
        "autonomy.enact": autonomy_enact,
        "autonomy.compensate": autonomy_compensate,
        "autonomy.status": autonomy_status,
        "autonomy.abort": autonomy_abort,
        "faults.list": faults_list,
        "faults.inject": faults_inject,
        "faults.remove": faults_remove,
    }
