"""docs/steps.md documents every step the library registers."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEP = re.compile(r"@(?:given|when|then)\(\s*(?:parsers\.parse\()?\s*(['\"])(.+?)\1", re.S)


def registered_steps() -> list[str]:
    steps = []
    for module in sorted((ROOT / "pytest_mc" / "steps").glob("*.py")):
        steps += [match.group(2) for match in STEP.finditer(module.read_text())]
    return steps


def test_every_step_is_documented() -> None:
    doc = (ROOT / "docs" / "steps.md").read_text()
    steps = registered_steps()
    assert len(steps) >= 25
    documented = doc
    missing = [
        step
        for step in steps
        if step.replace("{days:d}", "{days}").replace("{requests:d}", "{requests}")
        not in documented
    ]
    assert not missing, f"steps missing from docs/steps.md: {missing}"
