"""`DefectCase`: one deliberate defect of the reference staging and the one scenario it must fail.

The defect-case modules of tests/integration/features list their cases as `DefectCase`s and
check each with the `defect_case` fixture (tests/integration/conftest.py), so the check (the
staging lists the defect, exactly the named scenario fails, for the named reason, the rest of
the selection passes) has one home.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Selection:
    """A `-k` selection of one of the project's features and how many scenarios it runs."""

    feature: str
    select: str  # pytest -k expression over the feature's scenarios
    scenarios: int


@dataclass(frozen=True)
class DefectCase:
    """Started with `defect`, the `select`ion of `feature` fails `failing` and nothing else."""

    defect: str
    feature: str
    select: str  # pytest -k expression over the feature's scenarios
    failing: str  # the scenario (test name prefix) that must fail
    messages: tuple[str, ...]  # what its failure must name, each somewhere in the output
    passing: int  # how many other scenarios of the selection still pass
    # selections that pass in full against the same broken staging (what makes the failing
    # scenario necessary: a check that does not tell this defect from a healthy target)
    unaffected: tuple[Selection, ...] = ()

    def __post_init__(self) -> None:
        if not self.messages:
            raise ValueError(f"defect case {self.defect!r}: name at least one message to expect")

    @property
    def selection(self) -> Selection:
        """The selection this case runs, as it runs on a correct target (all of it passes)."""
        return Selection(self.feature, self.select, self.passing + 1)
