"""What a collected scenario says about itself: tenant, plan section, workstream, severity.

Gherkin tags become markers (`@plan:A.3` → `mc_plan("A.3")`, see plugin.py); a Scenario
Outline column named `tenant` names the scenario's tenant.
"""

from __future__ import annotations

import pytest

BDD_EXAMPLE = "_pytest_bdd_example"
TAG_MARKERS = {
    "plan": "mc_plan(section): the plan section a scenario verifies (tag @plan:A.3)",
    "tenant": "mc_tenant(tenant_id): the tenant a scenario is about (tag @tenant:TENANT_004)",
    "workstream": "mc_workstream(slug): the RACI workstream, when the section does not say it "
    "(tag @workstream:privacy-qi-governance)",
    "severity": "mc_severity(level): blocker, critical, normal, minor or trivial "
    "(tag @severity:critical)",
}


def marker_value(item: pytest.Item, name: str) -> str | None:
    marker = item.get_closest_marker(name)
    return str(marker.args[0]) if marker is not None and marker.args else None


def tenant_of(item: pytest.Item) -> str | None:
    """The scenario's tenant: its outline example's `tenant` column, else an @tenant: tag."""
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get(BDD_EXAMPLE) if callspec is not None else None
    if isinstance(example, dict) and example.get("tenant"):
        return str(example["tenant"])
    return marker_value(item, "mc_tenant")


def plan_section_of(item: pytest.Item) -> str | None:
    return marker_value(item, "mc_plan")


def parse_plan_sections(text: str) -> tuple[str, ...]:
    """`"A, B.4"` → `("A", "B.4")`; empty parts are dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def in_plan_sections(item: pytest.Item, sections: tuple[str, ...]) -> bool:
    """True when the scenario's @plan section is one of `sections` or inside one ("A" holds
    "A.3"; "A.3" holds only itself and "A.3.x")."""
    section = plan_section_of(item)
    if section is None:
        return False
    return any(section == wanted or section.startswith(f"{wanted}.") for wanted in sections)


def is_scenario(item: pytest.Item) -> bool:
    """True for pytest-bdd scenarios (they take the outline example as a parameter)."""
    return BDD_EXAMPLE in getattr(item, "fixturenames", ())
