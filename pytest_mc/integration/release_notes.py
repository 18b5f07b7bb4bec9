"""The GA delta report's Markdown snippet for the release notes: it links the JSON by a
relative path and summarises it (GA count, one row per QI, tripwires fired, open risks)."""

from __future__ import annotations

from pathlib import Path

from pytest_mc.integration.ga_delta_models import REPORT_FILE, GaDeltaReport
from pytest_mc.policy.timewindow import format_duration


def format_value(value: float | None, unit: str) -> str:
    """A value as the plan writes it: percentages, durations, counts."""
    if value is None:
        return "—"
    if unit == "fraction":
        return f"{value * 100:.3g}%"
    if unit == "seconds":
        return format_duration(max(value, 0.0)) if value >= 0 else f"{value:g}s"
    if unit == "count":
        return f"{value:g}"
    if unit == "days":
        return f"{value:g} days"
    return f"{value:.3g}"


def _format_delta(delta: float | None, unit: str) -> str:
    if delta is None:
        return "—"
    if delta == 0:
        return "±0"
    sign = "+" if delta > 0 else "−"
    return sign + format_value(abs(delta), unit)


def release_notes(report: GaDeltaReport, *, link: str = REPORT_FILE, max_risks: int = 10) -> str:
    """The Markdown snippet for the release notes: summary, QI table, tripwires, risks, link."""
    lines = [f"### GA delta — {report.release}", ""]
    added = ", ".join(report.added) or "none"
    lines.append(
        f"A/A GA: **{len(report.ga_before)} → {len(report.ga_after)} tenants** "
        f"(added: {added}). Full report: [{Path(link).name}]({link})."
    )
    lines.append("")
    if report.rehearsal:
        scales = ", ".join(f"{scale:g}" for scale in report.time_scales)
        lines += [
            f"> **Rehearsal evidence** (time scale {scales}): these figures cannot satisfy a "
            "GA DoD item.",
            "",
        ]
    lines += [
        f"| QI | rule | GA before ({len(report.ga_before)}) | GA after "
        f"({len(report.ga_after)}) | Δ | verdict after |",
        "|---|---|---|---|---|---|",
    ]
    for qi in report.qis:
        rule = f"{qi.comparator} {format_value(qi.threshold, qi.unit)}"
        lines.append(
            f"| {qi.title} | {rule} | {format_value(qi.before.value, qi.unit)} | "
            f"{format_value(qi.after.value, qi.unit)} | {_format_delta(qi.delta, qi.unit)} | "
            f"{qi.after.verdict.value} |"
        )
    lines.append("")
    if report.tripwires_fired:
        lines.append(f"Tripwires fired: **{len(report.tripwires_fired)}**")
        for tripwire in report.tripwires_fired:
            action = tripwire.action_observed or f"{tripwire.action_expected} NOT observed"
            lines.append(f"- {tripwire.tenant or 'run-wide'}: {tripwire.qi_id} → {action}")
    else:
        lines.append("Tripwires fired: none.")
    lines.append("")
    lines.append(f"Open risks: **{len(report.open_risks)}**")
    for risk in report.open_risks[:max_risks]:
        where = " ".join(part for part in (risk.tenant, risk.qi_id) if part)
        lines.append(f"- {risk.kind}{f' ({where})' if where else ''}: {risk.detail}")
    if len(report.open_risks) > max_risks:
        lines.append(f"- … and {len(report.open_risks) - max_risks} more in the report")
    lines += [
        "",
        f"Evidence: bundle `{Path(report.bundle.path).name}` sha256 "
        f"`{report.bundle.sha256}`{' (verified)' if report.bundle.verified else ''}; "
        f"QI catalog {report.catalog.version} {report.catalog.status} `{report.catalog.digest}`.",
        "",
    ]
    return "\n".join(lines)
