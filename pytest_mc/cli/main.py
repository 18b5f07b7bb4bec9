"""`mc-verify`: the console entry point. Subcommands live in their own modules.

Exit codes everywhere (DESIGN §9): 0 all verified, 1 the release failed a gate or DoD item,
2 bad usage or bad input, 3 environment or target problem. An `McError` is printed as one
`error:` line, never with a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from pytest_mc.cli.bake import bake
from pytest_mc.cli.dod import dod
from pytest_mc.cli.evidence import evidence
from pytest_mc.cli.integrate import dashboards, dr, report
from pytest_mc.cli.k6 import k6
from pytest_mc.cli.qi import qi
from pytest_mc.cli.run import run
from pytest_mc.cli.target import target
from pytest_mc.errors import McError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pytest-mc", prog_name="mc-verify")
def cli() -> None:
    """Verify the MC v0.3+ Expansion Plan and handle its evidence."""


cli.add_command(qi)
cli.add_command(evidence)
cli.add_command(run)
cli.add_command(k6)
cli.add_command(target)
cli.add_command(bake)
cli.add_command(report)
cli.add_command(dr)
cli.add_command(dashboards)
cli.add_command(dod)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `mc-verify`; returns (and, as a script, exits with) the exit code."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except McError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
