"""The GA delta report (plan §C): A/A GA before and after the expansion, from an evidence bundle.

Before: the tenants at A/A GA when the expansion started (the profile's `wave: ga` tenants,
TENANT_001..003 in the plan). After: those plus every tenant whose section shows its rollout
reached GA (its latest `stage_ga_soak` measurement passed). For each QI of the frozen catalog
the report gives every tenant's latest value, the value of each fleet (rates pooled from their
counts, counts summed, thresholds at their worst tenant) judged by the catalog, and the delta.
It lists the tripwires that fired and the open risks, and cites the catalog by version and
digest and the bundle by sha256. The file format is `ga_delta_models`; `release_notes`
renders the Markdown snippet that links it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from pytest_mc.errors import BundleError, InputError
from pytest_mc.evidence.bundle import EvidenceBundle, read_bundle
from pytest_mc.evidence.records import Measurement, ScenarioFinished, TripwireObservation
from pytest_mc.evidence.signing import TrustedKeys
from pytest_mc.evidence.verify import verify_bundle
from pytest_mc.integration.ga_delta_models import (
    NOTES_FILE,
    REPORT_FILE,
    BundleReference,
    ChainReference,
    FleetValue,
    GaDeltaReport,
    OpenRisk,
    QiDelta,
    RiskKind,
    TenantGa,
    TenantValue,
    TripwireFired,
)
from pytest_mc.integration.output import sha256_of, write_model, write_text
from pytest_mc.integration.release_notes import release_notes
from pytest_mc.policy.catalog import QiCatalog, QiDefinition, review_warning
from pytest_mc.policy.timewindow import format_duration
from pytest_mc.policy.verdict import Ratio, Verdict, judge

GA_QI = "stage_ga_soak"
# The QI kinds whose values the report compares; stages are durations of the rollout itself
# (shown as each tenant's GA evidence) and tripwires are reported as tripwires fired.
_COMPARED_KINDS = ("rate", "threshold", "count", "streak")
# The gates the plan validates a GA tenant on (§A.1 and §A.2): always listed, even unmeasured,
# so a gap in the evidence shows as a gap in the report.
_GA_SECTIONS = ("A.1", "A.2")
_VERDICT_ORDER = {Verdict.PASS: 0, Verdict.INCONCLUSIVE: 1, Verdict.FAIL: 2}


# --------------------------------------------------------------------------- computing


class _Latest:
    """The latest measurement per (QI, tenant) in chain order, with when and how often."""

    def __init__(self, bundle: EvidenceBundle) -> None:
        self.latest: dict[tuple[str, str], tuple[Measurement, datetime]] = {}
        self.counts: dict[tuple[str, str], int] = {}
        self.tripwires: list[TripwireObservation] = []
        self.outcomes: dict[str, dict[str, str]] = {}
        for chain in bundle.chains:
            for record in chain.records:
                body = record.body
                if isinstance(body, Measurement) and body.tenant is not None:
                    key = (body.qi_id, body.tenant)
                    self.latest[key] = (body, record.at)
                    self.counts[key] = self.counts.get(key, 0) + 1
                elif isinstance(body, TripwireObservation):
                    self.tripwires.append(body)
                elif isinstance(body, ScenarioFinished) and body.tenant is not None:
                    self.outcomes.setdefault(body.tenant, {})[body.nodeid] = body.outcome
        # A scenario started and never finished (a crash) counts as incomplete, unless a
        # later run of it finished (a section keeps one entry per run, in chain order).
        for tenant, section in bundle.tenants.items():
            latest = {scenario.nodeid: scenario.outcome for scenario in section.scenarios}
            for nodeid, outcome in latest.items():
                if outcome == "incomplete":
                    self.outcomes.setdefault(tenant, {})[nodeid] = "incomplete"

    def get(self, qi_id: str, tenant: str) -> tuple[Measurement, datetime] | None:
        return self.latest.get((qi_id, tenant))

    def measured_tenants(self) -> set[str]:
        return {tenant for _, tenant in self.latest}


def compute_ga_delta(
    bundle: EvidenceBundle,
    catalog: QiCatalog,
    *,
    bundle_path: Path,
    bundle_sha256: str,
    ga_before: Sequence[str],
    verified: bool,
    generated_at: datetime | None = None,
    today: date | None = None,
) -> GaDeltaReport:
    """The GA delta report of `bundle`, whose QIs are read from `catalog` (the one it cites)."""
    if bundle.catalog.digest != catalog.digest:
        raise BundleError(
            f"{bundle_path.name} was judged against QI catalog {bundle.catalog.version} "
            f"{bundle.catalog.digest}, not the catalog given ({catalog.version} "
            f"{catalog.digest}); pass the catalog it references with --catalog"
        )
    before = tuple(sorted(dict.fromkeys(ga_before)))
    if not before:
        raise InputError(
            "no tenant is named as at A/A GA before the expansion; name them with --ga-before "
            "TENANT or give the target profile (its tenants with wave: ga)"
        )
    latest = _Latest(bundle)
    known = sorted(set(bundle.tenants) | set(before))
    reached = {tenant: _reached_ga(latest, tenant) for tenant in known}
    after = tuple(t for t in known if t in before or reached[t][0])
    qis = tuple(
        _qi_delta(qi, latest, before, after)
        for qi in catalog.qis
        if qi.kind in _COMPARED_KINDS
        and qi.category != "autonomy"
        and (qi.plan_section in _GA_SECTIONS or _measured_in(latest, qi.id, after))
    )
    fired = tuple(
        _tripwire(observation)
        for observation in latest.tripwires
        if observation.action_observed is not None or observation.verdict == Verdict.FAIL
    )
    tenants = tuple(
        _tenant_ga(tenant, latest, catalog, before, reached[tenant], fired) for tenant in known
    )
    flags, risks = _flags_and_risks(bundle, catalog, latest, before, after, qis, fired, today)
    return GaDeltaReport(
        generated_at=generated_at or datetime.now(UTC),
        release=bundle.release,
        catalog=bundle.catalog,
        bundle=BundleReference(
            path=str(bundle_path),
            sha256=bundle_sha256,
            release=bundle.release,
            generated_at=bundle.generated_at,
            chains=tuple(
                ChainReference(
                    chain_id=chain.chain_id,
                    records=chain.head.records,
                    seq=chain.head.seq,
                    hash=chain.head.hash,
                )
                for chain in bundle.chains
            ),
            signing_keyid=bundle.signing.keyid,
            signing_ephemeral=bundle.signing.ephemeral,
            verified=verified,
        ),
        rehearsal=bundle.rehearsal,
        time_scales=bundle.time_scales,
        ga_before=before,
        ga_after=after,
        added=tuple(t for t in after if t not in before),
        tenants=tenants,
        qis=qis,
        tripwires_fired=fired,
        flags=flags,
        open_risks=risks,
    )


def _reached_ga(latest: _Latest, tenant: str) -> tuple[bool, str]:
    found = latest.get(GA_QI, tenant)
    if found is None:
        return False, f"no {GA_QI} measurement: its rollout did not reach GA in this evidence"
    measurement, at = found
    if measurement.verdict != Verdict.PASS:
        return False, (
            f"latest {GA_QI} is {measurement.verdict.value} ({at.isoformat(timespec='seconds')}):"
            f" {measurement.reason}"
        )
    return True, (f"{GA_QI} passed at {at.isoformat(timespec='seconds')}: {measurement.reason}")


def _measured_in(latest: _Latest, qi_id: str, tenants: Iterable[str]) -> bool:
    return any(latest.get(qi_id, tenant) is not None for tenant in tenants)


def _tenant_value(
    qi: QiDefinition, latest: _Latest, tenant: str, baseline: float | None
) -> TenantValue | None:
    found = latest.get(qi.id, tenant)
    if found is None:
        return None
    measurement, at = found
    delta = None
    if measurement.value is not None and baseline is not None:
        delta = measurement.value - baseline
    return TenantValue(
        tenant=tenant,
        value=measurement.value,
        events=measurement.events,
        trials=measurement.trials,
        verdict=measurement.verdict,
        reason=measurement.reason,
        measured_at=at,
        measurements=latest.counts[(qi.id, tenant)],
        delta_vs_ga_before=delta,
    )


def _qi_delta(
    qi: QiDefinition, latest: _Latest, before: Sequence[str], after: Sequence[str]
) -> QiDelta:
    before_value = _fleet(qi, latest, before)
    after_value = _fleet(qi, latest, after)
    delta = None
    if before_value.value is not None and after_value.value is not None:
        delta = after_value.value - before_value.value
    per_tenant = [_tenant_value(qi, latest, tenant, before_value.value) for tenant in after]
    return QiDelta(
        qi_id=qi.id,
        title=qi.title,
        category=qi.category,
        unit=qi.unit,
        comparator=qi.comparator,
        threshold=qi.target,
        plan_section=qi.plan_section,
        before=before_value,
        after=after_value,
        delta=delta,
        per_tenant=tuple(value for value in per_tenant if value is not None),
    )


def _fleet(qi: QiDefinition, latest: _Latest, tenants: Sequence[str]) -> FleetValue:
    """Judge `qi` over `tenants`: the worst of the fleet's own judgement and each tenant's."""
    found = {t: m for t in tenants if (m := _measurement(latest, qi.id, t)) is not None}
    valued = {t: m for t, m in found.items() if m.value is not None}
    missing = tuple(t for t in tenants if t not in found)
    method: Literal["pooled", "sum", "worst"]
    events: int | None = None
    trials: int | None = None
    counted = [m for m in found.values() if m.events is not None and m.trials is not None]
    if qi.kind == "rate" and counted and len(counted) == len(found):
        method = "pooled"
        events = sum(m.events or 0 for m in counted)
        trials = sum(m.trials or 0 for m in counted)
        judgement = judge(qi, Ratio(events=events, trials=trials))
        value = judgement.value
    elif qi.unit == "count":
        method = "sum"
        value = sum(m.value or 0.0 for m in valued.values()) if valued else None
        judgement = judge(qi, value)
    else:
        method = "worst"
        value = _worst(qi, [m.value for m in valued.values() if m.value is not None])
        judgement = judge(qi, value)
    verdict = judgement.verdict
    reasons = [judgement.reason] if found else []
    for tenant, measurement in sorted(found.items()):
        if _VERDICT_ORDER[measurement.verdict] > _VERDICT_ORDER[verdict]:
            verdict = measurement.verdict
        if measurement.verdict != Verdict.PASS:
            reasons.append(f"{tenant} {measurement.verdict.value}")
    if not found:
        verdict = Verdict.INCONCLUSIVE
        reasons = [f"none of {len(tenants)} tenants was measured in this evidence"]
    elif missing:
        if verdict == Verdict.PASS:
            verdict = Verdict.INCONCLUSIVE
        reasons.append(f"not measured: {', '.join(missing)}")
    return FleetValue(
        tenants=tuple(tenants),
        measured=tuple(sorted(found)),
        missing=missing,
        method=method,
        value=value,
        events=events,
        trials=trials,
        verdict=verdict,
        reason="; ".join(reasons),
    )


def _measurement(latest: _Latest, qi_id: str, tenant: str) -> Measurement | None:
    found = latest.get(qi_id, tenant)
    return None if found is None else found[0]


def _worst(qi: QiDefinition, values: Sequence[float]) -> float | None:
    """The value the fleet is judged by: the one furthest on the failing side of the rule."""
    if not values:
        return None
    if qi.comparator in ("<=", "<"):
        return max(values)
    if qi.comparator in (">=", ">"):
        return min(values)
    return max(values, key=lambda value: abs(value - qi.target))


def _tripwire(observation: TripwireObservation) -> TripwireFired:
    return TripwireFired(
        qi_id=observation.qi_id,
        tenant=observation.tenant,
        condition=observation.condition,
        condition_seen_at=observation.condition_seen_at,
        action_expected=observation.action_expected,
        action_observed=observation.action_observed,
        time_to_action_seconds=observation.time_to_action_seconds,
        deadline_seconds=observation.deadline_seconds,
        verdict=observation.verdict,
    )


def _tenant_ga(
    tenant: str,
    latest: _Latest,
    catalog: QiCatalog,
    before: Sequence[str],
    reached: tuple[bool, str],
    fired: Sequence[TripwireFired],
) -> TenantGa:
    gates = [
        m
        for qi in catalog.qis
        if qi.plan_section in _GA_SECTIONS and qi.kind in _COMPARED_KINDS
        if (m := _measurement(latest, qi.id, tenant)) is not None
    ]
    green = all(m.verdict == Verdict.PASS for m in gates) if gates else None
    outcomes: dict[str, int] = {}
    for outcome in latest.outcomes.get(tenant, {}).values():
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    flags: list[str] = []
    if tenant in before:
        evidence = "at A/A GA before the expansion (named as GA-before)"
        if reached[0]:
            evidence += f"; {reached[1]}"
    else:
        evidence = reached[1]
    if tenant not in before and reached[0]:
        flags.append("added_to_ga")
    if green is False:
        flags.append("gates_not_green")
    if green is None:
        flags.append("no_gate_measurements")
    flags += sorted({f"tripwire_fired:{t.qi_id}" for t in fired if t.tenant == tenant})
    if any(outcome != "passed" and outcome != "skipped" for outcome in outcomes):
        flags.append("scenarios_not_passed")
    return TenantGa(
        tenant=tenant,
        ga_before=tenant in before,
        ga_after=tenant in before or reached[0],
        ga_evidence=evidence,
        gates_green=green,
        scenarios=dict(sorted(outcomes.items())),
        flags=tuple(flags),
    )


def _flags_and_risks(
    bundle: EvidenceBundle,
    catalog: QiCatalog,
    latest: _Latest,
    before: Sequence[str],
    after: Sequence[str],
    qis: Sequence[QiDelta],
    fired: Sequence[TripwireFired],
    today: date | None,
) -> tuple[tuple[str, ...], tuple[OpenRisk, ...]]:
    flags: list[str] = []
    risks: list[OpenRisk] = []
    if bundle.rehearsal:
        scales = ", ".join(f"{scale:g}" for scale in bundle.time_scales)
        flags.append("rehearsal")
        risks.append(
            OpenRisk(
                kind="rehearsal_only",
                detail=f"computed from rehearsal evidence (time scale {scales}): it cannot "
                "satisfy a GA DoD item; repeat on the real staging at time_scale 1",
            )
        )
    if bundle.signing.ephemeral:
        flags.append("ephemeral_signature")
        risks.append(
            OpenRisk(
                kind="ephemeral_signature",
                detail=f"the bundle is signed with an ephemeral key ({bundle.signing.keyid}): "
                "integrity only, not who signed",
            )
        )
    overdue = review_warning(catalog, today or date.today())
    if overdue is not None:
        flags.append("catalog_review_overdue")
        risks.append(OpenRisk(kind="catalog_review_overdue", detail=overdue))
    if not any(_measured_in(latest, qi.qi_id, before) for qi in qis):
        flags.append("no_ga_before_baseline")
        risks.append(
            OpenRisk(
                kind="no_ga_before_baseline",
                detail=f"none of the GA-before tenants ({', '.join(before)}) has a measurement "
                "in this evidence: the fleet deltas have no baseline",
            )
        )
    for qi in qis:
        for tenant in after:
            found = latest.get(qi.qi_id, tenant)
            if found is None:
                if qi.plan_section in _GA_SECTIONS and tenant not in before:
                    risks.append(
                        OpenRisk(
                            kind="gate_not_measured",
                            tenant=tenant,
                            qi_id=qi.qi_id,
                            detail=f"{qi.title} was never measured for {tenant}, added to GA",
                        )
                    )
                continue
            measurement = found[0]
            if measurement.verdict == Verdict.FAIL:
                kind: RiskKind = "measurement_failed"
            elif measurement.verdict == Verdict.INCONCLUSIVE:
                kind = "measurement_inconclusive"
            else:
                continue
            risks.append(
                OpenRisk(kind=kind, tenant=tenant, qi_id=qi.qi_id, detail=measurement.reason)
            )
    for tripwire in fired:
        if tripwire.action_observed is None:
            risks.append(
                OpenRisk(
                    kind="tripwire_action_missing",
                    tenant=tripwire.tenant,
                    qi_id=tripwire.qi_id,
                    detail=f"{tripwire.condition}: expected {tripwire.action_expected}, "
                    "not observed",
                )
            )
            continue
        taken = tripwire.time_to_action_seconds
        after_text = "" if taken is None else f" after {format_duration(max(taken, 0.0))}"
        risks.append(
            OpenRisk(
                kind="tripwire_fired",
                tenant=tripwire.tenant,
                qi_id=tripwire.qi_id,
                detail=f"{tripwire.condition}: {tripwire.action_observed}{after_text} "
                f"(verdict {tripwire.verdict.value})",
            )
        )
    for tenant in sorted(set(bundle.tenants) - set(after)):
        if latest.get(GA_QI, tenant) is not None or any(
            key[1] == tenant and key[0].startswith("stage_") for key in latest.latest
        ):
            risks.append(
                OpenRisk(
                    kind="rollout_not_at_ga",
                    tenant=tenant,
                    detail=_reached_ga(latest, tenant)[1],
                )
            )
    for tenant in after:
        bad = sorted(
            nodeid
            for nodeid, outcome in latest.outcomes.get(tenant, {}).items()
            if outcome not in ("passed", "skipped")
        )
        for nodeid in bad:
            outcome = latest.outcomes[tenant][nodeid]
            risks.append(
                OpenRisk(
                    kind="scenario_not_passed",
                    tenant=tenant,
                    detail=f"{nodeid.rpartition('::')[2]} ended {outcome}",
                )
            )
    return tuple(flags), tuple(risks)


# --------------------------------------------------------------------------- files


def ga_delta_from_file(
    bundle_path: Path,
    catalog: QiCatalog,
    *,
    ga_before: Sequence[str],
    trusted: TrustedKeys,
    verify: bool = True,
) -> GaDeltaReport:
    """Read (and by default fully verify) the bundle at `bundle_path`, then compute the report.

    Verification is `mc-verify evidence verify`'s: a report must not cite a bundle that was
    altered after it was signed, or signed by a key not in `trusted`."""
    if verify:
        bundle = verify_bundle(bundle_path, catalog, trusted=trusted).bundle
    else:
        bundle = read_bundle(bundle_path)
    return compute_ga_delta(
        bundle,
        catalog,
        bundle_path=bundle_path,
        bundle_sha256=sha256_of(bundle_path),
        ga_before=ga_before,
        verified=verify,
    )


def write_ga_delta(
    report: GaDeltaReport, out_dir: Path, *, link: str = REPORT_FILE
) -> tuple[Path, Path]:
    """Write the report and, beside it, the release-notes snippet that links it by `link`."""
    report_path = write_model(report, out_dir / REPORT_FILE, schema="ga-delta-report")
    notes_path = write_text(out_dir / NOTES_FILE, release_notes(report, link=link))
    return report_path, notes_path
