"""Collects every feature file of the plan as pytest-bdd scenarios (steps: pytest_mc.steps)."""

from pytest_bdd import scenarios

scenarios(".")
