"""The GA delta report's file format (`ga-delta-report-v0.3.json`), one pydantic model per part.

`schemas/ga-delta-report.schema.json` is generated from `GaDeltaReport`; `ga_delta` computes
it from an evidence bundle and `release_notes` renders its Markdown snippet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.policy.catalog import CatalogReference
from pytest_mc.policy.verdict import Verdict

REPORT_FILE = "ga-delta-report-v0.3.json"
NOTES_FILE = "ga-delta-report-v0.3.md"

_STRICT = ConfigDict(extra="forbid", frozen=True)


class ChainReference(BaseModel):
    """One chain of the bundle, by id and head: a later bundle extending it still contains it."""

    model_config = _STRICT
    chain_id: str
    records: int
    seq: int
    hash: str


class BundleReference(BaseModel):
    """The evidence bundle the report was computed from."""

    model_config = _STRICT
    path: str = Field(description="as given when the report was computed")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    release: str
    generated_at: datetime
    chains: tuple[ChainReference, ...]
    signing_keyid: str
    signing_ephemeral: bool
    verified: bool = Field(
        description="schema, chains, views, artifacts and signature were verified first"
    )


class TenantGa(BaseModel):
    """Where one tenant stands: GA before, GA after, and on what evidence."""

    model_config = _STRICT
    tenant: str
    ga_before: bool
    ga_after: bool
    ga_evidence: str = Field(description="why the tenant counts (or not) as at GA after")
    gates_green: bool | None = Field(
        description="every measured §A.1/§A.2 gate passed at its latest measurement; "
        "null when the tenant has none"
    )
    scenarios: dict[str, int] = Field(description="outcome → scenarios of this tenant")
    flags: tuple[str, ...]


class TenantValue(BaseModel):
    """One tenant's latest measurement of one QI."""

    model_config = _STRICT
    tenant: str
    value: float | None
    events: int | None = None
    trials: int | None = None
    verdict: Verdict
    reason: str
    measured_at: datetime
    measurements: int = Field(ge=1, description="how many times the QI was measured")
    delta_vs_ga_before: float | None = Field(
        description="this value minus the GA-before fleet's value, when both exist"
    )


class FleetValue(BaseModel):
    """A QI over a set of tenants, judged against the catalog like a single tenant."""

    model_config = _STRICT
    tenants: tuple[str, ...]
    measured: tuple[str, ...]
    missing: tuple[str, ...]
    method: Literal["pooled", "sum", "worst"]
    value: float | None
    events: int | None = None
    trials: int | None = None
    verdict: Verdict
    reason: str


class QiDelta(BaseModel):
    """One QI: its rule, both fleets, the delta and every tenant's value."""

    model_config = _STRICT
    qi_id: str
    title: str
    category: str
    unit: str
    comparator: str
    threshold: float
    plan_section: str
    before: FleetValue
    after: FleetValue
    delta: float | None = Field(description="after.value - before.value, when both exist")
    per_tenant: tuple[TenantValue, ...]


class TripwireFired(BaseModel):
    """A tripwire whose auto-action the target performed (or was expected to and did not)."""

    model_config = _STRICT
    qi_id: str
    tenant: str | None
    condition: str
    condition_seen_at: datetime
    action_expected: str
    action_observed: str | None
    time_to_action_seconds: float | None = Field(description="plan seconds")
    deadline_seconds: float = Field(description="plan seconds")
    verdict: Verdict


RiskKind = Literal[
    "measurement_failed",
    "measurement_inconclusive",
    "gate_not_measured",
    "tripwire_fired",
    "tripwire_action_missing",
    "scenario_not_passed",
    "rollout_not_at_ga",
    "no_ga_before_baseline",
    "rehearsal_only",
    "catalog_review_overdue",
    "ephemeral_signature",
]


class OpenRisk(BaseModel):
    """Something a release manager must look at before relying on the report."""

    model_config = _STRICT
    kind: RiskKind
    tenant: str | None = None
    qi_id: str | None = None
    detail: str


class GaDeltaReport(BaseModel):
    """`ga-delta-report-v0.3.json`: GA before vs after the expansion (plan §C)."""

    model_config = _STRICT
    schema_version: Literal[1] = 1
    report: Literal["ga-delta"] = "ga-delta"
    plan_section: Literal["C"] = "C"
    generated_at: datetime
    release: str
    catalog: CatalogReference
    bundle: BundleReference
    rehearsal: bool = Field(description="computed from evidence of a run at time_scale != 1")
    time_scales: tuple[float, ...]
    ga_before: tuple[str, ...]
    ga_after: tuple[str, ...]
    added: tuple[str, ...]
    tenants: tuple[TenantGa, ...]
    qis: tuple[QiDelta, ...]
    tripwires_fired: tuple[TripwireFired, ...]
    flags: tuple[str, ...] = Field(description="report-wide conditions, e.g. rehearsal")
    open_risks: tuple[OpenRisk, ...]
