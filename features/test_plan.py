"""Collects the plan's features as pytest-bdd scenarios, in the order of the plan's timeline.

Week 0 readiness, then the rollouts (wave A before wave B, in the rollout feature's
examples), the tripwires and backout exercised against the rolled-out tenants, and the
evidence integration. pytest runs a module's tests in the order they are defined.
"""

from pytest_bdd import scenarios

PLAN_ORDER = (
    "readiness.feature",
    "rollout.feature",
    "tripwires.feature",
    "tripwire_boundaries.feature",
    "backout.feature",
    "autonomy_pilot.feature",
    "qi_governance.feature",
    "evidence_integration.feature",
    "dod.feature",
)

# One call per file: each call adds its scenarios to this module in order, so the module
# defines (and pytest runs) them feature by feature in PLAN_ORDER.
for feature in PLAN_ORDER:
    scenarios(feature)
