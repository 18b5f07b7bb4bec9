"""`mc-staging`: operate the reference staging (up/down/status) and speak the MC control
contract (tenant, rollout, glb, flags, dr, ops, provenance, dpo, readiness, slo, tripwires,
autonomy, faults). Every read command takes ``--json``.

Exit codes: 0 ok · 1 refused by policy · 2 bad usage or input · 3 staging unreachable.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from mc_staging.client import ControlClient
from mc_staging.defects import DEFECTS
from mc_staging.errors import BadInput, StagingError
from mc_staging.statedir import StateDir

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
TENANT = click.option("--tenant", required=True, help="Tenant id, e.g. TENANT_001.")
OP_ID = click.option(
    "--op-id",
    default=None,
    help="Idempotency key: a repeat returns the first result without acting again.",
)


def emit(result: object, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, sort_keys=True, default=str))
    else:
        import yaml  # only for human output; keeps `--json` calls fast to start

        click.echo(yaml.safe_dump(result, sort_keys=False, default_flow_style=False).rstrip())


def state(ctx: click.Context) -> StateDir:
    root = ctx.find_root().params.get("state_dir")
    if not root:
        raise BadInput("--state-dir DIR (or MC_STAGING_STATE_DIR) is required")
    return StateDir(root)


def call(ctx: click.Context, command: str, as_json: bool = True, **args: object) -> object:
    result = ControlClient(state(ctx)).call(command, dict(args))
    emit(result, as_json)
    return result


def read_record(path: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise BadInput(f"{what} file {path!r} does not exist") from exc
    except (OSError, ValueError) as exc:
        raise BadInput(
            f"{what} file {path!r} is not valid JSON ({exc}); pass the file "
            "the previous runbook step wrote"
        ) from exc
    if not isinstance(data, dict):
        raise BadInput(f"{what} file {path!r} must hold a JSON object")
    return data


def write_record(path: str | None, record: object) -> None:
    if path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


class Group(click.Group):
    """Turns StagingError, and a subcommand's usage error, into one stderr line and its exit
    code (never a traceback, never a usage screen for one bad option)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StagingError as exc:
            click.echo(f"mc-staging: {exc.message}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            where = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else ""
            hint = f" (see `{where} --help`)" if where else ""
            click.echo(f"mc-staging: {BadInput(exc.format_message()).message}{hint}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=Group)
@click.option(
    "--state-dir",
    envvar="MC_STAGING_STATE_DIR",
    type=click.Path(file_okay=False),
    help="State directory of the staging (created by `up`).",
)
def main(state_dir: str | None) -> None:
    """Reference multi-region MC staging on loopback."""


@main.command()
@click.option(
    "--time-scale",
    default=600.0,
    show_default=True,
    type=float,
    help="Plan seconds per wall second.",
)
@click.option(
    "--sample-interval",
    default=0.1,
    show_default=True,
    type=float,
    help="Wall seconds between control-plane samples.",
)
@click.option(
    "--defect",
    "defects",
    multiple=True,
    metavar="NAME",
    help="Deliberately break one behaviour (repeatable; for tests of the suite itself): "
    + "; ".join(f"{name}: {what}" for name, what in sorted(DEFECTS.items())),
)
@JSON_OPTION
@click.pass_context
def up(
    ctx: click.Context,
    time_scale: float,
    sample_interval: float,
    defects: tuple[str, ...],
    as_json: bool,
) -> None:
    """Start every component on free loopback ports and print the profile path."""
    from mc_staging import lifecycle

    result = lifecycle.up(state(ctx), time_scale, sample_interval, defects=defects)
    click.echo(json.dumps(result, sort_keys=True) if as_json else result["profile"])


@main.command()
@JSON_OPTION
@click.pass_context
def down(ctx: click.Context, as_json: bool) -> None:
    """Stop every process this staging started (by pid)."""
    from mc_staging import lifecycle

    emit(lifecycle.down(state(ctx)), as_json)


@main.command()
@JSON_OPTION
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Components (pid, alive, healthy) and, when reachable, the control plane's view."""
    from mc_staging import lifecycle

    result = lifecycle.status(state(ctx))
    try:
        result["control"] = ControlClient(state(ctx), timeout=5.0).call("status", {})
    except StagingError as exc:
        result["control"] = {"error": exc.message}
    emit(result, as_json)
    if not result["healthy"]:
        sys.exit(3)


from mc_staging import cli_commands  # noqa: E402  (registers the contract commands)

cli_commands.register(main)


def _entry() -> None:  # pragma: no cover - console script shim
    main(prog_name=os.path.basename(sys.argv[0]) or "mc-staging")
