"""The table of `mc-verify target check` on a terminal (rich): one row per capability."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pytest_mc.drivers.target_check import TargetCheck


def print_target_check(result: TargetCheck, console: Console | None = None) -> None:
    """Capability, ok or MISSING, what was found, what to do (for a miss); then the count."""
    if console is None:
        console = Console(stderr=True)
        if not console.is_terminal:
            # piped into a file or a CI log: each row on as few lines as it can
            console = Console(stderr=True, width=200)
    table = Table(title=f"target check of {escape(result.target)}")
    table.add_column("capability", ratio=2, overflow="fold")
    table.add_column("", no_wrap=True, min_width=len("MISSING"))
    table.add_column("found", ratio=3, overflow="fold")
    table.add_column("what to do", ratio=3, overflow="fold")
    for row in result.rows:
        table.add_row(
            escape(row.capability),
            "[green]ok[/]" if row.ok else "[bold red]MISSING[/]",
            escape(row.detail),
            "" if row.ok else escape(row.fix),
        )
    console.print(table)
    missing = len(result.missing)
    console.print(
        f"{len(result.rows) - missing} of {len(result.rows)} capabilities present"
        + (f", [bold red]{missing} missing[/]" if missing else "")
    )
