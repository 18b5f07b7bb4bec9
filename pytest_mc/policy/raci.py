"""The plan's RACI (§D) and the workstream each plan section belongs to.

Reports label every scenario with its workstream (the Allure epic) and its owner, so an
auditor sees who is Responsible and Accountable for each result.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Workstream:
    """One row of the plan's RACI table."""

    name: str
    responsible: str
    accountable: str
    consulted: tuple[str, ...]
    informed: tuple[str, ...]


AA_EXPANSION = Workstream("A/A Expansion", "SRE", "MC", ("Platform Sec", "Data"), ("PM",))
TIER3_PILOT = Workstream("Tier-3 Pilot", "MC", "CTO", ("Platform Sec", "API"), ("PM",))
PRIVACY_QI_GOVERNANCE = Workstream(
    "Privacy & QI Governance", "DPO", "MC", ("Platform Sec", "Data"), ("PM",)
)
EVIDENCE_DASHBOARDS = Workstream("Evidence & Dashboards", "DevEx", "MC", ("SRE", "Sec"), ("PM",))

WORKSTREAMS: tuple[Workstream, ...] = (
    AA_EXPANSION,
    TIER3_PILOT,
    PRIVACY_QI_GOVERNANCE,
    EVIDENCE_DASHBOARDS,
)

_BY_SLUG = {
    "aa-expansion": AA_EXPANSION,
    "tier3-pilot": TIER3_PILOT,
    "privacy-qi-governance": PRIVACY_QI_GOVERNANCE,
    "evidence-dashboards": EVIDENCE_DASHBOARDS,
}


def workstream_for(plan_section: str | None, override: str | None = None) -> Workstream | None:
    """The workstream of a scenario: an explicit `@workstream:` tag wins, else the section
    (A.* → A/A Expansion, B.* → Tier-3 Pilot, C.* → Evidence & Dashboards)."""
    if override:
        found = _BY_SLUG.get(override)
        if found is None:
            known = ", ".join(sorted(_BY_SLUG))
            raise ValueError(f"unknown workstream {override!r}; known: {known}")
        return found
    if not plan_section:
        return None
    head = plan_section.split(".", 1)[0].upper()
    return {"A": AA_EXPANSION, "B": TIER3_PILOT, "C": EVIDENCE_DASHBOARDS}.get(head)
