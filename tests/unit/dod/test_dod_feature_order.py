"""The DoD feature judges the evidence recorded so far, so it must run after every feature
that records evidence: last in the plan's order, and with one scenario per DoD item."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def plan_order() -> tuple[str, ...]:
    module = ast.parse((ROOT / "features" / "test_plan.py").read_text(encoding="utf-8"))
    for node in module.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "PLAN_ORDER" for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple)
            return tuple(str(name) for name in value)
    raise AssertionError("features/test_plan.py defines no PLAN_ORDER")


def test_the_dod_feature_runs_after_every_other_feature() -> None:
    order = plan_order()

    assert order[-1] == "dod.feature", (
        f"PLAN_ORDER ends with {order[-1]!r}: features added after dod.feature record evidence "
        "the DoD scenarios never see; keep dod.feature last"
    )
    on_disk = {path.name for path in (ROOT / "features").glob("*.feature")}
    assert on_disk == set(order), f"features not in PLAN_ORDER: {sorted(on_disk - set(order))}"


def test_the_dod_feature_has_a_scenario_per_item() -> None:
    text = (ROOT / "features" / "dod.feature").read_text(encoding="utf-8")

    assert text.startswith("@plan:DoD")
    assert text.count("Scenario Outline:") == 2  # GA and streak, each for both tenants
    assert text.count("Scenario:") == 7  # P1s, three rates, bundle, GA delta, catalog
