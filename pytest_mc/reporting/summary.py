"""Terminal summaries of an evidence bundle (rich tables): runs, sections, the DoD table."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from pytest_mc.evidence.bundle import EvidenceBundle


def print_summary(bundle: EvidenceBundle, console: Console | None = None) -> None:
    """Runs, one row per section, and the DoD table, as rich tables."""
    console = console or Console()
    flag = " [bold yellow]REHEARSAL[/]" if bundle.rehearsal else ""
    if bundle.draft_catalog:
        flag += " [bold yellow]DRAFT CATALOG[/]"
    scales = ", ".join(f"{scale:g}" for scale in bundle.time_scales)
    console.print(
        f"[bold]Evidence {bundle.release}[/]{flag} — catalog {bundle.catalog.version} "
        f"{bundle.catalog.digest[:19]}…, time scale {scales}"
    )
    runs = Table("run", "target", "started", "exit", title="Runs")
    for run_summary in bundle.runs:
        runs.add_row(
            run_summary.run_id[:12],
            run_summary.target.name,
            run_summary.started_at.isoformat(timespec="seconds"),
            "-" if run_summary.exit_status is None else str(run_summary.exit_status),
        )
    console.print(runs)
    sections = Table("section", "scenarios", "measurements", "tripwires", "drills", "artifacts")
    named = {
        **bundle.tenants,
        "(run-wide)": bundle.run_wide,
        "(autonomy pilot)": bundle.autonomy_pilot,
    }
    for name, section in named.items():
        sections.add_row(
            name,
            str(len(section.scenarios)),
            str(len(section.measurements)),
            str(len(section.tripwires)),
            str(len(section.drills)),
            str(len(section.artifacts)),
        )
    console.print(sections)
    # Names and verdicts are never cut (a terminal of 100 columns is enough for them); a long
    # value (a note) wraps instead.
    dod = Table(title="Definition of Done")
    longest = max((len(row.qi_id) for row in bundle.dod), default=len("DoD item"))
    dod.add_column("DoD item", no_wrap=True, min_width=max(longest, len("DoD item")))
    dod.add_column("tenant", no_wrap=True)
    dod.add_column("value", overflow="fold")
    dod.add_column("rule", overflow="fold")
    dod.add_column("verdict", no_wrap=True)
    dod.add_column("satisfied", no_wrap=True)
    for row in bundle.dod:
        value = "-" if row.value is None else (row.note or f"{row.value:g}")
        dod.add_row(
            row.qi_id,
            row.tenant or "-",
            value,
            f"{row.comparator} {row.threshold:g} {row.unit}",
            row.verdict.value,
            "yes" if row.satisfied else "no",
        )
    console.print(dod)
