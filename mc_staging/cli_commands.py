"""The MC control-contract commands of `mc-staging` (the plan's runbook works verbatim with
``mc-staging --state-dir DIR`` in place of ``mc``)."""

from __future__ import annotations

import sys

import click

from mc_staging.cli import (
    JSON_OPTION,
    OP_ID,
    TENANT,
    call,
    emit,
    read_record,
    state,
    write_record,
)
from mc_staging.client import ControlClient
from mc_staging.errors import BadInput, quoted
from mc_staging.faults import fault_params
from mc_staging.tokens import approval_ttl

OPTIONAL_TENANT = click.option("--tenant", default=None, help="Only this tenant.")
BOOL = click.Choice(["true", "false", "on", "off"], case_sensitive=False)


def register(main: click.Group) -> None:
    for group in (
        tenant,
        rollout,
        glb,
        flags,
        dr,
        ops,
        provenance,
        dpo,
        readiness,
        slo,
        tripwires,
        autonomy,
        faults,
    ):
        main.add_command(group)


@click.group()
def tenant() -> None:
    """Tenant registry."""


@tenant.command("status")
@TENANT
@JSON_OPTION
@click.pass_context
def tenant_status(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """Mode, regions, residency, flags, rollout stage/weight/paused, GLB weights."""
    call(ctx, "tenant.status", as_json, tenant=tenant)


@tenant.command("list")
@JSON_OPTION
@click.pass_context
def tenant_list(ctx: click.Context, as_json: bool) -> None:
    call(ctx, "tenant.list", as_json)


@click.group()
def rollout() -> None:
    """Rollout state machine: staged → bake → canary-20 → canary-50 → ga."""


@rollout.command("status")
@OPTIONAL_TENANT
@JSON_OPTION
@click.pass_context
def rollout_status(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    call(ctx, "rollout.status", as_json, tenant=tenant)


@rollout.command("advance")
@TENANT
@click.option("--force", is_flag=True, help="Skip the stage's minimum plan duration.")
@OP_ID
@JSON_OPTION
@click.pass_context
def rollout_advance(
    ctx: click.Context, tenant: str, force: bool, op_id: str | None, as_json: bool
) -> None:
    call(ctx, "rollout.advance", as_json, tenant=tenant, force=force, op_id=op_id)


@rollout.command("pause")
@TENANT
@click.option("--reason", default="operator")
@OP_ID
@JSON_OPTION
@click.pass_context
def rollout_pause(
    ctx: click.Context, tenant: str, reason: str, op_id: str | None, as_json: bool
) -> None:
    call(ctx, "rollout.pause", as_json, tenant=tenant, reason=reason, op_id=op_id)


@rollout.command("resume")
@TENANT
@click.option("--force", is_flag=True, help="Resume although the error budget is < 60%.")
@OP_ID
@JSON_OPTION
@click.pass_context
def rollout_resume(
    ctx: click.Context, tenant: str, force: bool, op_id: str | None, as_json: bool
) -> None:
    call(ctx, "rollout.resume", as_json, tenant=tenant, force=force, op_id=op_id)


@rollout.command("rollback")
@TENANT
@click.option("--reason", default="operator")
@OP_ID
@JSON_OPTION
@click.pass_context
def rollout_rollback(
    ctx: click.Context, tenant: str, reason: str, op_id: str | None, as_json: bool
) -> None:
    """Roll the tenant back to active/passive."""
    call(ctx, "rollout.rollback", as_json, tenant=tenant, reason=reason, op_id=op_id)


@click.group()
def glb() -> None:
    """Global load balancer."""


@glb.command("status")
@OPTIONAL_TENANT
@JSON_OPTION
@click.pass_context
def glb_status(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    call(ctx, "glb.status", as_json, tenant=tenant)


@glb.command("bias")
@TENANT
@click.option("--region", required=True)
@click.option("--weight", default=100, show_default=True, type=int)
@OP_ID
@JSON_OPTION
@click.pass_context
def glb_bias(
    ctx: click.Context, tenant: str, region: str, weight: int, op_id: str | None, as_json: bool
) -> None:
    """Bias the tenant's traffic to one region (backout: --weight 100)."""
    call(ctx, "glb.bias", as_json, tenant=tenant, region=region, weight=weight, op_id=op_id)


@glb.command("unbias")
@TENANT
@JSON_OPTION
@click.pass_context
def glb_unbias(ctx: click.Context, tenant: str, as_json: bool) -> None:
    call(ctx, "glb.unbias", as_json, tenant=tenant)


@click.group()
def flags() -> None:
    """Per-tenant flags: ttl-autotune, persisted-only."""


@flags.command("show")
@OPTIONAL_TENANT
@JSON_OPTION
@click.pass_context
def flags_show(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    call(ctx, "flags.show", as_json, tenant=tenant)


@flags.command("set")
@TENANT
@click.option("--flag", required=True, type=click.Choice(["ttl-autotune", "persisted-only"]))
@click.option("--value", required=True, type=BOOL)
@OP_ID
@JSON_OPTION
@click.pass_context
def flags_set(
    ctx: click.Context, tenant: str, flag: str, value: str, op_id: str | None, as_json: bool
) -> None:
    call(ctx, "flags.set", as_json, tenant=tenant, flag=flag, value=value, op_id=op_id)


@flags.command("ttl-autotune")
@TENANT
@click.option("--enable/--disable", required=True)
@JSON_OPTION
@click.pass_context
def flags_ttl(ctx: click.Context, tenant: str, enable: bool, as_json: bool) -> None:
    """Shorthand for `flags set --flag ttl-autotune` (backout: --disable)."""
    call(ctx, "flags.set", as_json, tenant=tenant, flag="ttl-autotune", value=enable)


@flags.command("persisted-only")
@TENANT
@click.option("--enable/--disable", required=True)
@JSON_OPTION
@click.pass_context
def flags_persisted(ctx: click.Context, tenant: str, enable: bool, as_json: bool) -> None:
    """Shorthand for `flags set --flag persisted-only`."""
    call(ctx, "flags.set", as_json, tenant=tenant, flag="persisted-only", value=enable)


@click.group()
def dr() -> None:
    """Disaster recovery: failover / failback."""


@dr.command("failover")
@TENANT
@click.option("--to", "to", default=None, help="Target region (default: the other one).")
@OP_ID
@JSON_OPTION
@click.pass_context
def dr_failover(
    ctx: click.Context, tenant: str, to: str | None, op_id: str | None, as_json: bool
) -> None:
    call(ctx, "dr.failover", as_json, tenant=tenant, to=to, op_id=op_id)


@dr.command("failback")
@TENANT
@OP_ID
@JSON_OPTION
@click.pass_context
def dr_failback(ctx: click.Context, tenant: str, op_id: str | None, as_json: bool) -> None:
    call(ctx, "dr.failback", as_json, tenant=tenant, op_id=op_id)


@dr.command("status")
@OPTIONAL_TENANT
@JSON_OPTION
@click.pass_context
def dr_status(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    call(ctx, "dr.status", as_json, tenant=tenant)


@click.group()
def ops() -> None:
    """Idempotent operations."""


@ops.command("replay")
@TENANT
@JSON_OPTION
@click.pass_context
def ops_replay(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """Re-send the tenant's journaled writes; regions dedupe by op id."""
    call(ctx, "ops.replay", as_json, tenant=tenant)


@click.group()
def provenance() -> None:
    """Append-only, hash-chained provenance log."""


@provenance.command("log")
@OPTIONAL_TENANT
@click.option("--limit", default=1000, show_default=True, type=int)
@JSON_OPTION
@click.pass_context
def provenance_log(ctx: click.Context, tenant: str | None, limit: int, as_json: bool) -> None:
    call(ctx, "provenance.log", as_json, tenant=tenant, limit=limit)


@click.group()
def dpo() -> None:
    """Data protection officer pages."""


@dpo.command("pages")
@OPTIONAL_TENANT
@JSON_OPTION
@click.pass_context
def dpo_pages(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    call(ctx, "dpo.pages", as_json, tenant=tenant)


@click.group()
def readiness() -> None:
    """Readiness records (plan §A.1)."""


@readiness.command("show")
@OPTIONAL_TENANT
@JSON_OPTION
@click.pass_context
def readiness_show(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    call(ctx, "readiness.show", as_json, tenant=tenant)


@readiness.command("verify")
@TENANT
@JSON_OPTION
@click.pass_context
def readiness_verify(ctx: click.Context, tenant: str, as_json: bool) -> None:
    result = call(ctx, "readiness.verify", as_json, tenant=tenant)
    if isinstance(result, dict) and not result.get("ready"):
        sys.exit(1)


@readiness.command("set-budget")
@TENANT
@click.option(
    "--units-per-second",
    required=True,
    type=float,
    help="Query budget in cost units per WALL second, per region.",
)
@JSON_OPTION
@click.pass_context
def readiness_set_budget(
    ctx: click.Context, tenant: str, units_per_second: float, as_json: bool
) -> None:
    call(ctx, "readiness.set-budget", as_json, tenant=tenant, units_per_second=units_per_second)


@click.group()
def slo() -> None:
    """Error budget of each tenant."""


@slo.command("status")
@OPTIONAL_TENANT
@JSON_OPTION
@click.pass_context
def slo_status(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    call(ctx, "slo.status", as_json, tenant=tenant)


@slo.command("reset-budget")
@TENANT
@JSON_OPTION
@click.pass_context
def slo_reset(ctx: click.Context, tenant: str, as_json: bool) -> None:
    """Start a new error-budget period for the tenant."""
    call(ctx, "slo.reset-budget", as_json, tenant=tenant)


@click.group()
def tripwires() -> None:
    """Tripwire automation (plan §A.3, §B.4)."""


@tripwires.command("status")
@OPTIONAL_TENANT
@JSON_OPTION
@click.pass_context
def tripwires_status(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    call(ctx, "tripwires.status", as_json, tenant=tenant)


@tripwires.command("events")
@OPTIONAL_TENANT
@JSON_OPTION
@click.pass_context
def tripwires_events(ctx: click.Context, tenant: str | None, as_json: bool) -> None:
    call(ctx, "tripwires.events", as_json, tenant=tenant)


@click.group()
def autonomy() -> None:
    """Tier-3 scoped autonomy (plan §B)."""


@autonomy.command("set")
@TENANT
@click.option("--tier", required=True, help="T0 | T1 | T2 | T3")
@click.option("--scope", default=None, help="read-only | read-write")
@click.option("--require-hitl", default=None, type=BOOL)
@JSON_OPTION
@click.pass_context
def autonomy_set(
    ctx: click.Context,
    tenant: str,
    tier: str,
    scope: str | None,
    require_hitl: str | None,
    as_json: bool,
) -> None:
    call(
        ctx,
        "autonomy.set",
        as_json,
        tenant=tenant,
        tier=tier,
        scope=scope,
        require_hitl=require_hitl,
    )


@autonomy.command("simulate")
@TENANT
@click.option("--op-set", required=True)
@click.option("--evidence", default=None, help="Write the simulation record here.")
@JSON_OPTION
@click.pass_context
def autonomy_simulate(
    ctx: click.Context, tenant: str, op_set: str, evidence: str | None, as_json: bool
) -> None:
    result = ControlClient(state(ctx)).call(
        "autonomy.simulate", {"tenant": tenant, "op_set": op_set}
    )
    write_record(evidence, result)
    emit(result, as_json)


@autonomy.command("approve")
@TENANT
@click.option("--from-sim", "from_sim", required=True, help="Simulation record file.")
@click.option("--approver", default="hitl-operator", show_default=True)
@click.option(
    "--ttl-seconds",
    default=300.0,
    show_default=True,
    type=float,
    help="Token lifetime in WALL seconds (above 0, at most a day).",
)
@JSON_OPTION
@click.pass_context
def autonomy_approve(
    ctx: click.Context, tenant: str, from_sim: str, approver: str, ttl_seconds: float, as_json: bool
) -> None:
    """HITL approval: print a signed, single-use token bound to this simulation."""
    ttl_seconds = approval_ttl(ttl_seconds)
    result = ControlClient(state(ctx)).call(
        "autonomy.approve",
        {
            "tenant": tenant,
            "simulation": read_record(from_sim, "simulation"),
            "approver": approver,
            "ttl_seconds": ttl_seconds,
        },
    )
    if as_json:
        emit(result, True)
    else:
        click.echo(str(dict(result)["token"]))  # type: ignore[call-overload]


@autonomy.command("enact")
@TENANT
@click.option("--approval-token", default=None, envvar="MC_APPROVAL_TOKEN")
@click.option("--from-sim", "from_sim", required=True)
@click.option("--evidence", default=None, help="Write the enactment audit record here.")
@OP_ID
@JSON_OPTION
@click.pass_context
def autonomy_enact(
    ctx: click.Context,
    tenant: str,
    approval_token: str | None,
    from_sim: str,
    evidence: str | None,
    op_id: str | None,
    as_json: bool,
) -> None:
    # the op id is the idempotency key and also the operation id of the audit record
    result = ControlClient(state(ctx)).call(
        "autonomy.enact",
        {
            "tenant": tenant,
            "approval_token": approval_token,
            "simulation": read_record(from_sim, "simulation"),
            "op_id": op_id,
            "operation_id": op_id,
        },
    )
    write_record(evidence, result)
    emit(result, as_json)
    if isinstance(result, dict) and result.get("outcome") != "succeeded":
        click.echo(
            f"mc-staging: enactment aborted ({result.get('abort_reason')}); audit "
            f"record {result.get('enactment_id')} written",
            err=True,
        )
        sys.exit(1)


@autonomy.command("compensate")
@TENANT
@click.option("--from-evidence", "from_evidence", required=True)
@click.option("--evidence", default=None, help="Write the compensation record here.")
@JSON_OPTION
@click.pass_context
def autonomy_compensate(
    ctx: click.Context, tenant: str, from_evidence: str, evidence: str | None, as_json: bool
) -> None:
    result = ControlClient(state(ctx)).call(
        "autonomy.compensate",
        {"tenant": tenant, "enactment": read_record(from_evidence, "enactment")},
    )
    write_record(evidence, result)
    emit(result, as_json)


@autonomy.command("status")
@TENANT
@JSON_OPTION
@click.pass_context
def autonomy_status(ctx: click.Context, tenant: str, as_json: bool) -> None:
    call(ctx, "autonomy.status", as_json, tenant=tenant)


@autonomy.command("abort")
@TENANT
@click.option("--reason", default="operator abort")
@JSON_OPTION
@click.pass_context
def autonomy_abort(ctx: click.Context, tenant: str, reason: str, as_json: bool) -> None:
    """HITL override: veto enactments until `autonomy set` again."""
    call(ctx, "autonomy.abort", as_json, tenant=tenant, reason=reason)


@click.group()
def faults() -> None:
    """Fault injection (admin API)."""


@faults.command("list")
@JSON_OPTION
@click.pass_context
def faults_list(ctx: click.Context, as_json: bool) -> None:
    call(ctx, "faults.list", as_json)


@faults.command("inject")
@click.option("--kind", required=True)
@click.option("--tenant", default=None)
@click.option("--region", default=None)
@click.option("--param", "params", multiple=True, help="key=value (repeatable)")
@JSON_OPTION
@click.pass_context
def faults_inject(
    ctx: click.Context,
    kind: str,
    tenant: str | None,
    region: str | None,
    params: tuple[str, ...],
    as_json: bool,
) -> None:
    given: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"--param {quoted(item)} is not key=value")
        given[key] = value
    # checked here too, so a bad value is refused (exit 2) before anything reaches the staging
    checked = fault_params(kind, given)
    call(ctx, "faults.inject", as_json, kind=kind, tenant=tenant, region=region, params=checked)


@faults.command("remove")
@click.option("--id", "fault_id", default=None)
@click.option("--all", "remove_all", is_flag=True)
@JSON_OPTION
@click.pass_context
def faults_remove(
    ctx: click.Context, fault_id: str | None, remove_all: bool, as_json: bool
) -> None:
    if not fault_id and not remove_all:
        raise click.UsageError("pass --id FAULT_ID or --all")
    call(ctx, "faults.remove", as_json, id=fault_id, all=remove_all or None)
