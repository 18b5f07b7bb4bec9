"""The DoD table on a terminal (rich): one row per item, with its verdict and rehearsal flag.

The header says everything that makes the evidence weaker than GA: REHEARSAL, and DRAFT
CATALOG when it was judged against a catalog that is not a published version.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pytest_mc.dod.items import DodReport

_VERDICT_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow"}


def print_dod(report: DodReport, console: Console | None = None) -> None:
    """The header (evidence, catalog, time scale), the items, and the summary line."""
    if console is None:
        console = Console()
        if not console.is_terminal:
            # Piped into a file or a CI log: keep each item on one line rather than wrapped.
            console = Console(width=200)
    scales = ", ".join(f"{scale:g}" for scale in report.time_scales)
    flag = " [bold yellow]REHEARSAL[/]" if report.rehearsal else ""
    if report.draft_catalog:
        flag += " [bold yellow]DRAFT CATALOG[/]"
    console.print(
        f"[bold]Definition of Done[/]{flag} — {escape(report.evidence)}; catalog "
        f"{report.catalog.version} {report.catalog.status}"
        + (" (draft catalog)" if report.draft_catalog else "")
        + f" {report.catalog.digest[:19]}…, time scale {scales}"
    )
    # Verdicts are never cut; text wraps within its column at any terminal width from 100.
    table = Table()
    table.add_column("DoD item", ratio=3, overflow="fold")
    table.add_column("value", ratio=2, overflow="fold")
    table.add_column("threshold", ratio=2, overflow="fold")
    table.add_column("verdict", no_wrap=True, min_width=len("inconclusive"))
    table.add_column("met", no_wrap=True)
    table.add_column("rehearsal", no_wrap=True)
    table.add_column("source", ratio=3, overflow="fold")
    for item in report.items:
        style = _VERDICT_STYLE[item.verdict.value]
        table.add_row(
            escape(item.title),
            escape(item.shown),
            escape(item.threshold),
            f"[{style}]{item.verdict.value}[/]",
            "yes" if item.met else "no",
            "yes" if item.rehearsal else "no",
            escape(item.source),
        )
    console.print(table)
    for item in report.items:
        if not item.met:
            console.print(
                escape(f"  {item.id}: {item.verdict.value} — {item.reason}"), highlight=False
            )
    console.print(escape(report.summary), highlight=False)
