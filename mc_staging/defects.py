"""Deliberate defects: switches that break one behaviour of the reference staging.

They exist so that tests can show the suite fails for the right reason against a wrong
target. None is ever on unless `mc-staging up --defect NAME` asked for it; the names are kept
in the state directory's settings, every component reads them at start, and `/healthz` and
`mc-staging status` list them, so evidence taken against a broken staging says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from mc_staging.errors import BadInput
from mc_staging.statedir import StateDir

DEFECTS: dict[str, str] = {
    "glb-never-biases": "GLB bias requests (tripwire or operator) are acknowledged and recorded "
    "but the weights never change",
    "never-pauses": "rollout pauses (tripwire or operator) are recorded but the rollout keeps "
    "its running state",
    "residency-gate-off": "the residency gate never denies: regions outside a tenant's "
    "jurisdiction accept its requests",
    "ttl-flag-ignored": "the cache keeps auto-tuning TTLs when the ttl-autotune flag is off",
    "enact-accepts-replayed-token": "an approval token is not spent when an enactment uses it: "
    "the same token enacts again",
    "compensation-noop": "compensation records the prior state as restored but writes nothing",
    "burn-halt-never": "the error-budget burn tripwires record their halt_autonomy action but "
    "autonomy keeps running",
    "enact-skips-residency-denial": "an enactment whose write a region's residency gate denies "
    "skips that region and carries on instead of aborting",
    "risk-check-off": "the enactment never compares the risk score at enactment with the "
    "simulated one: a base that moved after the simulation is enacted anyway",
    "simulator-blind-to-drift": "the enactment trusts the simulation's view of the derived rows: "
    "no drift re-check and no compare-and-set, so drifted rows are overwritten and the "
    "enactment reports success",
    "ap-rollback-status-only": "after a rollback the registry and status say active-passive, "
    "but the passive region still takes writes sent to it directly",
    "glb-weights-status-only": "the GLB publishes a bias's weights (status, weight gauge) but "
    "routes by the stage's weights as before",
    "t2-still-enacts": "at tier T2 an approved enactment is answered and audited as refused"
    " (enactments disabled), but the simulation's derived rows are written to the "
    "tenant's regions all the same",
    "aborted-enactment-unaudited": "an aborted enactment writes its record file but leaves no "
    "audit record in the provenance log",
    "replay-path-applies-twice": "a region does not record the op ids of changes it receives "
    "by replication: a write replayed with its op id directly to the tenant's other region is "
    "applied again there",
    "replication-leaks-outside": "a region outside a tenant's jurisdiction replicates the "
    "tenant's changes from its primary: the tenant's rows are held there, while reads there "
    "still answer 451 and the residency violation metrics stay 0",
    "provenance-rewritten": "a backout (GLB bias to a single region) rewrites the tenant's "
    "previous provenance record and re-hashes the chain after it, so the chain still verifies",
    "lag-tripwire-rolls-back": "the replication-lag tripwire rolls the tenant back to A/P "
    "instead of biasing the GLB, and records its action as a bias: all traffic goes to the "
    "primary, as a bias to it would send it, but the tenant is no longer active/active",
    "tripwire-loose-threshold": "the replication-lag tripwire acts only on a lag above twice "
    "its 60s threshold: a lag far past it still biases the GLB, one just past it never does",
    "tripwire-acts-late": "the error-budget tripwire (and the remaining-budget gauge) works "
    "from the budget as it stood 30m of plan time earlier: the pause comes 30m after the "
    "budget crossed 60%",
    "lag-metric-under-reports": "the exported replication-lag metrics "
    "(mc_tenant_replication_lag_seconds, mc_replication_lag_seconds, "
    "mc_replication_apply_lag_seconds) report 40% of the real lag; replication, the status "
    "records and the staging's own tripwire evaluation work on the real lag",
    "lag-counted-from-receipt": "every region ships its change feed 90 s of plan time late "
    "and the receiving region counts replication lag from when a change arrived, not from its "
    "commit: the lag metrics, the status records and the staging's own lag tripwire miss the "
    "shipping delay",
}

# The shipping delay (plan seconds) of `lag-counted-from-receipt`: 1.5 times the lag gate.
LATE_SHIPPING_PLAN_SECONDS = 90.0

# The share of the real replication lag the `lag-metric-under-reports` defect exports.
UNDER_REPORTED_LAG_SHARE = 0.4


def validate(names: Iterable[str]) -> tuple[str, ...]:
    """The defect names, sorted and checked against the known ones."""
    chosen = tuple(sorted(set(names)))
    unknown = [name for name in chosen if name not in DEFECTS]
    if unknown:
        raise BadInput(f"unknown defect {unknown[0]!r}: use one of {', '.join(sorted(DEFECTS))}")
    return chosen


def exported_lag(defects: frozenset[str], seconds: float) -> float:
    """The replication lag a metric exports for a real lag of `seconds`."""
    if "lag-metric-under-reports" in defects:  # deliberate defect: a flattering figure
        return seconds * UNDER_REPORTED_LAG_SHARE
    return seconds


def active(state_dir: StateDir) -> frozenset[str]:
    """The defects the staging in `state_dir` was started with (none for an older state)."""
    try:
        settings = json.loads(state_dir.settings_file.read_text())
    except FileNotFoundError:
        return frozenset()
    return frozenset(validate(settings.get("defects", ())))
