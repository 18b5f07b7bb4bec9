"""The week-5 decision report as Markdown, for the weekly review and the release notes."""

from __future__ import annotations

from pytest_mc.dod.decision import Week5Decision


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def decision_markdown(decision: Week5Decision) -> str:
    """The decision, its reasons, the KPI table, tripwires and enactments, in that order."""
    scales = ", ".join(f"{scale:g}" for scale in decision.time_scales)
    verdict = "Expand the autonomy pilot" if decision.decision == "expand" else "Hold"
    lines = [
        f"# Week-5 decision: {verdict}",
        "",
        f"- pilot tenant: {decision.pilot_tenant}",
        f"- evidence: `{decision.evidence}`"
        + (f" (release {decision.release})" if decision.release else ""),
        f"- QI catalog: {decision.catalog.version} `{decision.catalog.digest}`"
        + (" — **draft catalog** (not a published version)" if decision.draft_catalog else ""),
        f"- time scale: {scales}" + (" — **rehearsal**" if decision.rehearsal else ""),
        f"- KPIs support expansion: {'yes' if decision.kpis_support_expansion else 'no'}",
        "",
        "## Reasons",
        "",
    ]
    if decision.reasons:
        lines += [f"- {_cell(reason)}" for reason in decision.reasons]
    else:
        lines.append("- every acceptance KPI passes, no tripwire fired, evidence at time scale 1")
    lines += [
        "",
        "## KPIs",
        "",
        "| KPI | value | rule | verdict | bound | source |",
        "|---|---|---|---|---|---|",
    ]
    for kpi in decision.kpis:
        bound = (
            "-"
            if kpi.bound is None or kpi.confidence is None
            else f"{kpi.bound:.5f} ({kpi.confidence:.0%})"
        )
        lines.append(
            f"| {_cell(kpi.title)} | {_cell(kpi.shown)} | {_cell(kpi.threshold)} | "
            f"{kpi.verdict.value} | {bound} | {_cell(kpi.source)} |"
        )
    if decision.hints:
        lines += ["", "## What would settle it", ""]
        lines += [f"- {_cell(hint)}" for hint in decision.hints]
    lines += ["", "## Tripwires fired during the pilot", ""]
    if decision.tripwires_fired:
        lines += [
            f"- {trip.qi_id}: {_cell(trip.condition)}"
            + (f" → {trip.action_observed}" if trip.action_observed else "")
            + (" (induced by a chaos experiment; not counted)" if trip.induced else "")
            for trip in decision.tripwires_fired
        ]
    else:
        lines.append("- none recorded")
    lines += ["", "## Enactments", ""]
    if decision.enactments:
        lines += [f"- {outcome}: {count}" for outcome, count in decision.enactments.items()]
    else:
        lines.append("- no enactment audit recorded")
    return "\n".join(lines) + "\n"
