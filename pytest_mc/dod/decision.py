"""The week-5 decision (plan §E): expand the Tier-3 autonomy pilot, or hold.

The pilot is expanded only when every acceptance KPI of plan §B.2 and the DoD passes on the
pilot tenant's evidence (autonomy success, compensation and simulation false-negative rates
with their confidence bounds, zero P1s, no SLO regression, cost within budget, zero privacy
incidents), no pilot tripwire fired (one induced by a chaos experiment to test the guardrail
does not count), and the evidence is neither a rehearsal nor judged against a draft catalog
(one that is not a published version). Anything else is "hold", with every
reason listed and, for an unsettled rate, how many more clean trials would settle it.
Missing data is a reason to hold, never a pass.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.dod.evidence import DodEvidence
from pytest_mc.dod.items import PILOT_TENANT
from pytest_mc.dod.measured import Judged, judged_measurement
from pytest_mc.evidence.records import (
    Artifact,
    EnactmentAudit,
    Measurement,
    ToolRun,
    TripwireObservation,
)
from pytest_mc.policy.catalog import CatalogReference, QiCatalog, draft_label
from pytest_mc.policy.verdict import Ratio, Verdict, judge

DECISION_SCHEMA_VERSION: Literal[1] = 1
# Plan §B.2 acceptance and the DoD's "zero P1s", in the order the report lists them.
PILOT_ACCEPTANCE = (
    "autonomy_success_rate",
    "compensation_rate",
    "sim_false_negative_rate",
    "p1_incidents",
    "slo_regression",
    "cost_within_budget",
    "privacy_incidents",
)
_STRICT = ConfigDict(extra="forbid", frozen=True)


class KpiResult(Judged):
    """One acceptance KPI of the pilot, judged from the pilot tenant's latest measurement."""

    qi_id: str
    title: str


class TripwireFired(BaseModel):
    """A tripwire whose condition was seen during the pilot."""

    model_config = _STRICT
    qi_id: str
    condition: str
    seen_at: datetime | None
    action_expected: str | None
    action_observed: str | None
    induced: bool = Field(
        description="seen in a scenario that ran a chaos experiment: a guardrail test, "
        "listed but not counted against the pilot"
    )
    source: str


class Week5Decision(BaseModel):
    """The week-5 decision report: the decision, and everything it rests on."""

    model_config = _STRICT
    schema_version: Literal[1] = DECISION_SCHEMA_VERSION
    decision: Literal["expand", "hold"]
    pilot_tenant: str
    evidence: str
    release: str | None
    catalog: CatalogReference
    time_scales: tuple[float, ...]
    rehearsal: bool
    draft_catalog: bool = Field(
        default=False,
        description="the evidence was judged against a catalog that is not a published "
        'version: it cannot decide "expand"',
    )
    kpis_support_expansion: bool = Field(
        description="every KPI passes and no tripwire fired, whatever the time scale or catalog"
    )
    kpis: tuple[KpiResult, ...]
    p1_incidents: float | None
    slo_regressions: float | None
    tripwires_fired: tuple[TripwireFired, ...]
    enactments: dict[str, int] = Field(description="enactment audits by outcome")
    reasons: tuple[str, ...]
    hints: tuple[str, ...] = Field(description="what would settle an inconclusive KPI")


def decide(
    evidence: DodEvidence, catalog: QiCatalog, *, tenant: str = PILOT_TENANT
) -> Week5Decision:
    """Apply the week-5 rule to the pilot tenant's evidence."""
    kpis = tuple(_kpi(evidence, catalog, qi_id, tenant) for qi_id in PILOT_ACCEPTANCE)
    fired = _tripwires_fired(evidence, catalog, tenant)
    reasons: list[str] = []
    hints: list[str] = []
    for kpi in kpis:
        if kpi.verdict == Verdict.FAIL:
            reasons.append(f"{kpi.qi_id} fails {kpi.threshold}: {kpi.reason}")
        elif kpi.verdict == Verdict.INCONCLUSIVE:
            reasons.append(f"{kpi.qi_id} is inconclusive: {kpi.reason}")
            if kpi.more_trials_needed is not None:
                hints.append(
                    f"{kpi.qi_id}: {kpi.more_trials_needed:,} more clean trials would settle it "
                    f"at {kpi.confidence or 0.95:.0%} confidence"
                )
            elif kpi.value is None:
                hints.append(_record_hint(catalog, kpi.qi_id, tenant))
    for trip in (trip for trip in fired if not trip.induced):
        reasons.append(
            f"tripwire {trip.qi_id} fired during the pilot ({trip.condition}"
            + (f" → {trip.action_observed}" if trip.action_observed else "")
            + ")"
        )
    supported = not reasons
    views = evidence.views
    if views.rehearsal:
        scales = ", ".join(f"{scale:g}" for scale in views.time_scales)
        reasons.append(
            f'the evidence is a rehearsal (time scale {scales}): it cannot decide "expand" '
            f"for production"
            + ("; on these KPIs a production run would expand" if supported else "")
        )
    draft = draft_label(views.catalog)
    if draft is not None:
        reasons.append(
            f"the evidence was judged against {draft}, not a published version: it cannot "
            f'decide "expand"'
        )
    by_name = {kpi.qi_id: kpi for kpi in kpis}
    return Week5Decision(
        decision="expand" if not reasons else "hold",
        pilot_tenant=tenant,
        evidence=evidence.label,
        release=evidence.release,
        catalog=views.catalog,
        time_scales=views.time_scales,
        rehearsal=views.rehearsal,
        draft_catalog=draft is not None,
        kpis_support_expansion=supported,
        kpis=kpis,
        p1_incidents=_number(by_name["p1_incidents"]),
        slo_regressions=_number(by_name["slo_regression"]),
        tripwires_fired=fired,
        enactments=_enactments(evidence, tenant),
        reasons=tuple(reasons),
        hints=tuple(hints),
    )


def _kpi(evidence: DodEvidence, catalog: QiCatalog, qi_id: str, tenant: str) -> KpiResult:
    qi = catalog.get(qi_id)
    judged = judged_measurement(evidence, qi, tenant)
    return KpiResult(**dict(judged), qi_id=qi_id, title=qi.title)


def _record_hint(catalog: QiCatalog, qi_id: str, tenant: str) -> str:
    """What to record for a KPI never measured; for a rate, how many clean trials it takes."""
    qi = catalog.get(qi_id)
    hint = f"{qi_id}: not measured for {tenant}; record it during the pilot"
    if qi.kind == "rate":
        needed = judge(qi, Ratio(events=0, trials=0)).more_trials_needed
        if needed is not None:
            hint += f" (at least {needed:,} clean trials settle it)"
    return hint


def _number(kpi: KpiResult) -> float | None:
    return kpi.value if isinstance(kpi.value, float) else None


def _tripwires_fired(
    evidence: DodEvidence, catalog: QiCatalog, tenant: str
) -> tuple[TripwireFired, ...]:
    """Observed tripwires of the pilot tenant, and tripwire measurements whose condition held.

    A tripwire seen in a scenario that ran a chaos experiment (a `chaos-journal` artifact or a
    `chaos` tool run under the same node id) was induced on purpose to prove the guardrail
    works; it is listed as induced and does not count against the pilot.
    """
    traces = list(evidence.traced())
    chaos_nodeids = {
        trace.body.nodeid
        for trace in traces
        if (isinstance(trace.body, Artifact) and trace.body.artifact_kind == "chaos-journal")
        or (isinstance(trace.body, ToolRun) and trace.body.tool == "chaos")
    } - {None}
    tripwire_ids = {qi.id for qi in catalog.qis if qi.kind == "tripwire"}
    fired: list[TripwireFired] = []
    for trace in traces:
        body = trace.body
        where = f"tenants.{tenant}, chain {trace.chain_index} seq {trace.seq}"
        if isinstance(body, TripwireObservation) and body.tenant == tenant:
            fired.append(
                TripwireFired(
                    qi_id=body.qi_id,
                    condition=body.condition,
                    seen_at=body.condition_seen_at,
                    action_expected=body.action_expected,
                    action_observed=body.action_observed,
                    induced=body.nodeid in chaos_nodeids,
                    source=f"{where} (tripwires)",
                )
            )
        elif (
            isinstance(body, Measurement)
            and body.tenant == tenant
            and body.qi_id in tripwire_ids
            and body.verdict == Verdict.FAIL
        ):
            fired.append(
                TripwireFired(
                    qi_id=body.qi_id,
                    condition=body.reason,
                    seen_at=body.window.end if body.window is not None else None,
                    action_expected=catalog.get(body.qi_id).action,
                    action_observed=None,
                    induced=body.nodeid in chaos_nodeids,
                    source=f"{where} (measurements)",
                )
            )
    return tuple(fired)


def _enactments(evidence: DodEvidence, tenant: str) -> dict[str, int]:
    counts = Counter(
        trace.body.outcome
        for trace in evidence.traced()
        if isinstance(trace.body, EnactmentAudit) and trace.body.tenant == tenant
    )
    return dict(sorted(counts.items()))
