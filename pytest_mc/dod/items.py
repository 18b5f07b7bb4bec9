"""The plan's Definition of Done, item by item, judged from verified evidence.

The plan's three DoD lines become eleven items: for TENANT_004 and TENANT_005, A/A GA reached
through the gated rollout and 14 consecutive green days; for the Tier-3 pilot on TENANT_001,
zero P1s and the three KPI rates; then the evidence bundle signed with its chain intact, the
GA delta report appended, and the frozen QI catalog v1 referenced by digest. Each item says
where in the bundle it was read and whether that evidence is a rehearsal (time scale != 1) or
was judged against a draft catalog (not a published version): either can judge an item but
never satisfy it. A streak of days shorter than 24h of plan time says so beside its count.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.dod.evidence import DodEvidence, Traced
from pytest_mc.dod.measured import (
    Judged,
    judged_measurement,
    rejudge,
    rule_text,
    section_name,
    shown_value,
    worst,
)
from pytest_mc.drivers.gates import VALIDATION_GATES
from pytest_mc.evidence.records import Artifact, DayVerdict, Measurement
from pytest_mc.evidence.streak import compute_streak
from pytest_mc.policy.catalog import CatalogReference, QiCatalog, draft_label
from pytest_mc.policy.verdict import Verdict, judge

EXPANSION_TENANTS = ("TENANT_004", "TENANT_005")
PILOT_TENANT = "TENANT_001"
PILOT_KPIS = (
    "p1_incidents",
    "autonomy_success_rate",
    "compensation_rate",
    "sim_false_negative_rate",
)
GA_SOAK_QI = "stage_ga_soak"
STREAK_QI = "expansion_green_streak"
GA_DELTA_REPORT = "ga-delta-report-v0.3.json"
FROZEN_CATALOG_VERSION = "1.0.0"
DOD_REPORT_SCHEMA_VERSION: Literal[1] = 1


class DodItem(Judged):
    """One item of the Definition of Done."""

    id: str = Field(description="stable id: aa_ga:TENANT_004, p1_incidents, qi_catalog, ...")
    dod_line: int = Field(ge=1, le=3, description="which of the plan's three DoD lines")
    title: str
    tenant: str | None = None
    qi_id: str | None = None
    draft_catalog: bool = Field(
        default=False, description="the evidence was judged against a draft catalog"
    )
    met: bool = Field(
        description="verdict pass from evidence that is not a rehearsal and was judged against "
        "a published catalog"
    )


class DodReport(BaseModel):
    """Every DoD item for one body of evidence, and whether the DoD as a whole is met."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1] = DOD_REPORT_SCHEMA_VERSION
    evidence: str
    release: str | None
    catalog: CatalogReference
    time_scales: tuple[float, ...]
    rehearsal: bool
    draft_catalog: bool = Field(
        default=False,
        description="the evidence was judged against a catalog that is not a published "
        "version: no item can be met",
    )
    items: tuple[DodItem, ...]
    met: bool = Field(
        description="every item met, every run at time scale 1, against a published catalog"
    )
    summary: str

    def item(self, item_id: str) -> DodItem:
        for item in self.items:
            if item.id == item_id:
                return item
        known = ", ".join(item.id for item in self.items)
        raise KeyError(f"no DoD item {item_id!r}; the items are: {known}")


def evaluate_dod(evidence: DodEvidence, catalog: QiCatalog) -> DodReport:
    """Judge every DoD item from `evidence` against `catalog` (the frozen QI catalog v1)."""
    draft = draft_label(evidence.views.catalog)
    items: list[DodItem] = []
    for tenant in EXPANSION_TENANTS:
        items.append(
            _item(
                f"aa_ga:{tenant}",
                1,
                f"{tenant} at A/A GA",
                ga_reached(evidence, catalog, tenant),
                draft=draft,
                tenant=tenant,
                qi_id=GA_SOAK_QI,
            )
        )
        items.append(
            _item(
                f"green_streak:{tenant}",
                1,
                f"{tenant} 14 consecutive days green",
                green_streak(evidence, catalog, tenant),
                draft=draft,
                tenant=tenant,
                qi_id=STREAK_QI,
            )
        )
    for qi_id in PILOT_KPIS:
        qi = catalog.get(qi_id)
        judged = judged_measurement(evidence, qi, PILOT_TENANT)
        items.append(
            _item(
                qi_id,
                2,
                f"Tier-3 pilot: {qi.title}",
                judged,
                draft=draft,
                tenant=PILOT_TENANT,
                qi_id=qi_id,
            )
        )
    items.append(
        _item(
            "evidence_bundle",
            3,
            "Evidence bundle signed, chain intact",
            bundle_integrity(evidence),
            draft=draft,
        )
    )
    items.append(
        _item(
            "ga_delta_report",
            3,
            "GA delta report appended",
            ga_delta_report(evidence),
            draft=draft,
        )
    )
    items.append(
        _item(
            "qi_catalog",
            3,
            "QI catalog v1 frozen and referenced",
            catalog_referenced(evidence, catalog),
            draft=draft,
        )
    )
    views = evidence.views
    all_met = all(item.met for item in items) and not views.rehearsal and draft is None
    return DodReport(
        evidence=evidence.label,
        release=evidence.release,
        catalog=views.catalog,
        time_scales=views.time_scales,
        rehearsal=views.rehearsal,
        draft_catalog=draft is not None,
        items=tuple(items),
        met=all_met,
        summary=_summary(items, views.rehearsal, views.time_scales, draft),
    )


def _item(
    item_id: str,
    line: int,
    title: str,
    judged: Judged,
    *,
    draft: str | None,
    tenant: str | None = None,
    qi_id: str | None = None,
) -> DodItem:
    return DodItem(
        **dict(judged),
        id=item_id,
        dod_line=line,
        title=title,
        tenant=tenant,
        qi_id=qi_id,
        draft_catalog=draft is not None,
        met=judged.verdict == Verdict.PASS and not judged.rehearsal and draft is None,
    )


def _summary(
    items: list[DodItem], rehearsal: bool, scales: tuple[float, ...], draft: str | None
) -> str:
    unmet = [item for item in items if not item.met]
    counts = {v: sum(item.verdict == v for item in items) for v in Verdict}
    tally = ", ".join(f"{counts[v]} {v.value}" for v in Verdict)
    if rehearsal or draft is not None:
        shown = ", ".join(f"{scale:g}" for scale in scales)
        weaker = [
            *([f"rehearsal evidence (time scale {shown})"] if rehearsal else []),
            *([f"evidence judged against {draft} (not a published version)"] if draft else []),
        ]
        kind = "a GA DoD item" if rehearsal else "a DoD item"
        return (
            f"DoD not met: {' and '.join(weaker)} cannot satisfy {kind} "
            f"({tally} of {len(items)} items)"
        )
    if unmet:
        return f"DoD not met: {len(unmet)} of {len(items)} items unmet ({tally})"
    return f"DoD met: all {len(items)} items pass on evidence at time scale 1"


# --------------------------------------------------------------------------- DoD line 1


def ga_reached(evidence: DodEvidence, catalog: QiCatalog, tenant: str) -> Judged:
    """GA reached through the gated rollout: the 24h GA soak held, the validation gates
    judged after it (in the same scenario) pass, and that rollout scenario passed."""
    qi = catalog.get(GA_SOAK_QI)
    source = f"{section_name(tenant)}.measurements[{GA_SOAK_QI}, gates], .scenarios"
    threshold = f"{rule_text(qi)} soak at 100%, validation gates pass, rollout scenario passed"
    measured = [
        (trace, trace.body)
        for trace in evidence.traced()
        if isinstance(trace.body, Measurement) and trace.body.tenant == tenant
    ]
    soaks = [index for index, (_, m) in enumerate(measured) if m.qi_id == GA_SOAK_QI]
    if not soaks:
        return Judged(
            value=None,
            shown="GA never held",
            threshold=threshold,
            verdict=Verdict.INCONCLUSIVE,
            rehearsal=evidence.views.rehearsal,
            source=source,
            reason=f"no {GA_SOAK_QI} measurement of {tenant}: the rollout never held stage ga "
            f"in this evidence",
        )
    soak_trace, soak = measured[soaks[-1]]
    soak_judgement = rejudge(qi, soak)
    # The gates over stage ga: judged after the soak, by the same scenario, in the same chain.
    gates = [
        (trace, m)
        for trace, m in measured[soaks[-1] + 1 :]
        if m.qi_id in VALIDATION_GATES
        and m.nodeid == soak.nodeid
        and trace.chain_index == soak_trace.chain_index
    ]
    gate_verdicts = {m.qi_id: rejudge(catalog.get(m.qi_id), m).verdict for _, m in gates}
    outcome = _scenario_outcome(evidence, tenant, soak.nodeid)
    scenario_verdict = {
        "passed": Verdict.PASS,
        "failed": Verdict.FAIL,
        "error": Verdict.FAIL,
    }.get(outcome or "", Verdict.INCONCLUSIVE)
    missing_gates = [gate for gate in VALIDATION_GATES if gate not in gate_verdicts]
    parts = [f"ga soak {soak_judgement.verdict.value}: {soak_judgement.reason}"]
    if missing_gates:
        parts.append(f"gates not judged after the soak: {', '.join(missing_gates)}")
    not_passing = [f"{g} {v.value}" for g, v in gate_verdicts.items() if v != Verdict.PASS]
    if not_passing:
        parts.append(f"gates over ga: {', '.join(not_passing)}")
    parts.append(f"rollout scenario {outcome or 'not recorded'}")
    verdict = worst(
        [
            soak_judgement.verdict,
            scenario_verdict,
            *gate_verdicts.values(),
            *([Verdict.INCONCLUSIVE] if missing_gates else []),
        ]
    )
    passing = sum(v == Verdict.PASS for v in gate_verdicts.values())
    rehearsal = soak_trace.rehearsal or any(trace.rehearsal for trace, _ in gates)
    return Judged(
        value=soak_judgement.value,
        shown=f"soak {shown_value(soak_judgement)}, gates {passing}/{len(VALIDATION_GATES)} "
        f"pass, scenario {outcome or '-'}",
        threshold=threshold,
        verdict=verdict,
        rehearsal=rehearsal,
        source=f"{source}, chain {soak_trace.chain_index} seq {soak_trace.seq}",
        reason="; ".join(parts),
    )


def _scenario_outcome(evidence: DodEvidence, tenant: str, nodeid: str | None) -> str | None:
    section = evidence.views.tenants.get(tenant)
    if section is None or nodeid is None:
        return None
    outcomes = [s.outcome for s in section.scenarios if s.nodeid == nodeid]
    return outcomes[-1] if outcomes else None


def green_streak(evidence: DodEvidence, catalog: QiCatalog, tenant: str) -> Judged:
    """Consecutive green days (SLO, cost, privacy) recomputed from the tenant's day verdicts."""
    qi = catalog.get(STREAK_QI)
    days = [
        trace.body
        for trace in evidence.traced()
        if isinstance(trace.body, DayVerdict) and trace.body.tenant == tenant
    ]
    source = f"{section_name(tenant)}.days"
    if not days:
        judgement = judge(qi, None)
        return Judged(
            value=None,
            shown="no days judged",
            threshold=rule_text(qi),
            verdict=judgement.verdict,
            rehearsal=evidence.views.rehearsal,
            source=source,
            reason=f"no day_verdict records of {tenant}: the green streak was never judged "
            f"(mc-verify bake records one per day); {judgement.reason}",
        )
    streak = compute_streak(tenant, days)
    judgement = judge(qi, streak.current_days, samples=streak.days_judged)
    rehearsal = streak.rehearsal if streak.current_days else any(day.rehearsal for day in days)
    broken = f"; last reset: {streak.broken_by}" if streak.broken_by else ""
    # A rehearsal may compress a day beyond its time scale: the count says of what days.
    counted = streak.note or f"{streak.current_days} days"
    return Judged(
        value=float(streak.current_days),
        shown=f"{counted} ({streak.days_judged} judged)",
        threshold=rule_text(qi),
        verdict=judgement.verdict,
        rehearsal=rehearsal,
        source=source,
        reason=f"{judgement.reason}{broken}",
    )


# --------------------------------------------------------------------------- DoD line 3


def bundle_integrity(evidence: DodEvidence) -> Judged:
    """Chain intact and signed by a user's key; an ephemeral key proves integrity only."""
    integrity = evidence.integrity
    if integrity.ephemeral_key:
        verdict = Verdict.INCONCLUSIVE
        reason = (
            f"{integrity.detail}; an ephemeral key proves integrity, not who signed: sign "
            f"with --mc-signing-key KEY.pem"
        )
    else:
        verdict = Verdict.PASS
        reason = integrity.detail
    state = "signed" if integrity.signature == "verified" else "signature pending"
    return Judged(
        value=integrity.keyid,
        shown=f"{integrity.records} records intact, {state} ({integrity.keyid})",
        threshold="chain intact, signed with a user key",
        verdict=verdict,
        rehearsal=evidence.views.rehearsal,
        source="chains, signing (DSSE envelope)",
        reason=reason,
    )


def ga_delta_report(evidence: DodEvidence) -> Judged:
    """The latest artifact record named ga-delta-report-v0.3.json, with its file's sha256."""
    found: tuple[Traced, Artifact] | None = None
    for trace in evidence.traced():
        body = trace.body
        if isinstance(body, Artifact) and body.name == GA_DELTA_REPORT:
            found = (trace, body)
    threshold = f"artifact {GA_DELTA_REPORT} recorded, file sha256 as recorded"
    if found is None:
        return Judged(
            value=None,
            shown="not appended",
            threshold=threshold,
            verdict=Verdict.INCONCLUSIVE,
            rehearsal=evidence.views.rehearsal,
            source="artifacts of every section",
            reason=f"no artifact record named {GA_DELTA_REPORT} in this evidence: the GA "
            f"delta report was not appended",
        )
    trace, artifact = found
    source = f"{section_name(artifact.tenant)}.artifacts, chain {trace.chain_index} seq {trace.seq}"
    file = evidence.artifact_base / artifact.path
    try:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
    except FileNotFoundError:
        digest = None
    if digest == artifact.sha256:
        verdict = Verdict.PASS
        reason = f"{artifact.artifact_kind} artifact {file.name}, sha256 {artifact.sha256} matches"
    elif digest is None:
        verdict = Verdict.FAIL
        reason = f"the recorded report file {file} is missing"
    else:
        verdict = Verdict.FAIL
        reason = f"{file} has sha256 {digest}, recorded {artifact.sha256}: the report was altered"
    return Judged(
        value=artifact.sha256,
        shown=f"sha256 {artifact.sha256[:12]}… ({artifact.size_bytes:,} bytes)",
        threshold=threshold,
        verdict=verdict,
        rehearsal=trace.rehearsal,
        source=source,
        reason=reason,
    )


def catalog_referenced(evidence: DodEvidence, catalog: QiCatalog) -> Judged:
    """The evidence cites the frozen v1 catalog by version and digest."""
    reference = evidence.views.catalog
    problems = []
    if catalog.status != "FROZEN" or catalog.version != FROZEN_CATALOG_VERSION:
        problems.append(
            f"the catalog judged against is {catalog.status} {catalog.version}, not FROZEN "
            f"{FROZEN_CATALOG_VERSION}"
        )
    if reference.status != "FROZEN" or reference.version != FROZEN_CATALOG_VERSION:
        problems.append(f"the evidence cites {reference.status} {reference.version}")
    if reference.digest != catalog.digest:
        problems.append(
            f"the evidence cites digest {reference.digest}, the frozen catalog is {catalog.digest}"
        )
    return Judged(
        value=reference.digest,
        shown=f"{reference.status} {reference.version} {reference.digest[:19]}…",
        threshold=f"FROZEN {FROZEN_CATALOG_VERSION}, digest {catalog.digest[:19]}…",
        verdict=Verdict.FAIL if problems else Verdict.PASS,
        rehearsal=evidence.views.rehearsal,
        source="catalog",
        reason="; ".join(problems)
        or f"cites QI catalog {reference.version} (FROZEN, review due "
        f"{reference.review_due.isoformat()}) by its digest {reference.digest}",
    )
