"""The Gherkin step library: thin glue from feature text to drivers, evidence and policy.

Each module owns the steps of one subject; the plugin registers them all, so any feature
file can use them. Every step is documented in docs/steps.md.
"""

STEP_MODULES = (
    "pytest_mc.steps.context",
    "pytest_mc.steps.catalog",
    "pytest_mc.steps.tenants",
    "pytest_mc.steps.load",
    "pytest_mc.steps.chaos",
    "pytest_mc.steps.tripwires",
    "pytest_mc.steps.drills",
    "pytest_mc.steps.readiness",
    "pytest_mc.steps.residency",
    "pytest_mc.steps.backout",
    "pytest_mc.steps.autonomy",
    "pytest_mc.steps.autonomy_kpis",
    "pytest_mc.steps.autonomy_tripwires",
    "pytest_mc.steps.rollout",
    "pytest_mc.steps.behaviour",
    "pytest_mc.steps.soak",
    "pytest_mc.steps.integration",
    "pytest_mc.steps.dod",
)
