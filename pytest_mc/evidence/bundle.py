"""The evidence bundle: a view materialized from one or more verified chains (DESIGN §7).

The bundle carries the chains themselves (so it can be re-verified on its own) and the views
an auditor reads: runs, one section per tenant, the autonomy pilot, the DoD table. The views
are a pure function of the chains (`materialize`), which is how `verify` proves they were
not edited. Writing is atomic (temp file + rename) and validated against `schemas/`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_mc.errors import BundleError
from pytest_mc.evidence.chain import ChainHead, head_of
from pytest_mc.evidence.records import (
    Artifact,
    BakeCheckpoint,
    BakeEvent,
    ChainRecord,
    DayVerdict,
    DrillTimeline,
    EnactmentAudit,
    Measurement,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
    TargetInfo,
    ToolRun,
    TripwireObservation,
)
from pytest_mc.evidence.streak import GreenStreak, compressed_days, compute_streak
from pytest_mc.inputs import dotted, read_json_object
from pytest_mc.policy.catalog import CatalogReference, QiCatalog, draft_label
from pytest_mc.policy.verdict import Verdict
from pytest_mc.schemas import validate_instance

_STRICT = ConfigDict(extra="forbid", frozen=True)
BUNDLE_SCHEMA_VERSION: Literal[1] = 1
RUN_WIDE = "run-wide"


DRAFT_CATALOG_FIELD = (
    "judged against a catalog that is not a published version (a DRAFT): it cannot satisfy "
    "a DoD item"
)


class ChainSegment(BaseModel):
    """One chain, whole: its id is the hash of its first record."""

    model_config = _STRICT
    chain_id: str
    head: ChainHead
    records: tuple[ChainRecord, ...]


class RunSummary(BaseModel):
    """One pytest session that wrote into a chain."""

    model_config = _STRICT
    run_id: str
    chain_id: str
    release: str
    started_at: datetime
    finished_at: datetime | None
    exit_status: int | None
    target: TargetInfo
    rehearsal: bool
    suite_version: str
    tools: dict[str, str]
    git_commit: str | None


class ScenarioResult(BaseModel):
    """How a scenario ended in one run, or that it never did (a crash mid-scenario)."""

    model_config = _STRICT
    run_id: str | None = Field(
        default=None,
        description="the run that ran it: a section holds one entry per run and scenario, so "
        "a crashed run's 'incomplete' stays beside the next run's result",
    )
    nodeid: str
    scenario: str
    feature: str | None
    plan_section: str | None
    outcome: Literal["passed", "failed", "skipped", "error", "incomplete"]
    duration_seconds: float | None


class Section(BaseModel):
    """Everything recorded for one tenant (or for the run as a whole), in chain order."""

    model_config = _STRICT
    scenarios: tuple[ScenarioResult, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    tripwires: tuple[TripwireObservation, ...] = ()
    drills: tuple[DrillTimeline, ...] = ()
    enactments: tuple[EnactmentAudit, ...] = ()
    artifacts: tuple[Artifact, ...] = ()
    tool_runs: tuple[ToolRun, ...] = ()
    bake_events: tuple[BakeEvent, ...] = ()
    slices: tuple[BakeCheckpoint, ...] = ()
    days: tuple[DayVerdict, ...] = ()
    streak: GreenStreak | None = Field(
        default=None, description="consecutive green days, recomputed from `days`"
    )


class DodRow(BaseModel):
    """One Definition-of-Done item: the latest judgement of a DoD QI for a tenant."""

    model_config = _STRICT
    qi_id: str
    title: str
    tenant: str | None
    value: float | None
    unit: str
    comparator: str
    threshold: float
    verdict: Verdict
    rehearsal: bool
    draft_catalog: bool = Field(
        default=False, description="judged against a catalog that is not a published version"
    )
    satisfied: bool = Field(
        description="pass, from a run at time_scale 1 (not a rehearsal), against a published "
        "catalog (not a draft)"
    )
    reason: str
    note: str | None = Field(
        default=None,
        description="what makes the value weaker than GA, shown beside it: "
        "'14 days of 1h plan time'",
    )


class SigningInfo(BaseModel):
    """Who signed: the key id, and whether the key was ephemeral (integrity only)."""

    model_config = _STRICT
    keyid: str
    ephemeral: bool


class EvidenceBundle(BaseModel):
    """`dist/evidence-<release>.json`: the file auditors and `mc-verify evidence` read."""

    model_config = _STRICT
    schema_version: Literal[1] = BUNDLE_SCHEMA_VERSION
    release: str
    generated_at: datetime
    rehearsal: bool
    draft_catalog: bool = Field(default=False, description=DRAFT_CATALOG_FIELD)
    time_scales: tuple[float, ...]
    catalog: CatalogReference
    signing: SigningInfo
    runs: tuple[RunSummary, ...]
    tenants: dict[str, Section]
    run_wide: Section
    autonomy_pilot: Section
    dod: tuple[DodRow, ...]
    chains: tuple[ChainSegment, ...]


class BundleViews(BaseModel):
    """The parts of a bundle that are derived from its chains."""

    model_config = _STRICT
    rehearsal: bool
    draft_catalog: bool = Field(default=False, description=DRAFT_CATALOG_FIELD)
    time_scales: tuple[float, ...]
    catalog: CatalogReference
    runs: tuple[RunSummary, ...]
    tenants: dict[str, Section]
    run_wide: Section
    autonomy_pilot: Section
    dod: tuple[DodRow, ...]


def segment(records: Sequence[ChainRecord]) -> ChainSegment:
    """Wrap verified records as a chain segment."""
    if not records:
        raise BundleError("the evidence chain is empty; nothing was recorded")
    return ChainSegment(chain_id=records[0].hash, head=head_of(records), records=tuple(records))


class _RunOwners:
    """Which run a chain record belongs to. A writer that started a run (the session's
    controller, a bake runner writing into the same chain from inside a scenario) owns its
    records; a writer that never did (an xdist worker) writes for the run that was open on
    its own when it started, never for a run nested in it: a bake's run_started in the
    middle of a rollout scenario does not take the scenario's finish with it."""

    def __init__(self) -> None:
        self._open: dict[str, str] = {}  # writer → the run it has open
        self._last: dict[str, str] = {}  # writer → the run it started last
        self._outer: str | None = None

    def started(self, writer: str, run_id: str) -> None:
        self._open.pop(writer, None)  # a run of this writer left open crashed: it ends here
        if not self._open:
            self._outer = run_id
        self._open[writer] = run_id
        self._last[writer] = run_id

    def finished(self, writer: str, run_id: str) -> None:
        if self._open.get(writer) == run_id:
            del self._open[writer]

    def run_of(self, writer: str) -> str | None:
        return self._last.get(writer, self._outer)


def materialize_views(chains: Sequence[ChainSegment], catalog: QiCatalog) -> BundleViews:
    """Compute every derived part of a bundle from its chains."""
    runs: list[RunSummary] = []
    sections: dict[str | None, dict[str, list[object]]] = {}
    pilot: dict[str, list[object]] = {}
    # Keyed by (run, nodeid): a chain accumulates runs, and a later run of a scenario must
    # not overwrite how an earlier run left it (a crash's 'incomplete' is evidence too).
    scenarios: dict[str | None, dict[tuple[str | None, str], ScenarioResult]] = {}
    started_by_run: dict[str, int] = {}
    references: set[CatalogReference] = set()
    for chain in chains:
        owners = _RunOwners()
        for record in chain.records:
            body = record.body
            run_id = owners.run_of(record.writer)
            if isinstance(body, RunStarted):
                owners.started(record.writer, body.run_id)
                references.add(body.catalog)
                started_by_run[body.run_id] = len(runs)
                runs.append(_run_summary(body, chain.chain_id, record.at))
            elif isinstance(body, RunFinished):
                owners.finished(record.writer, body.run_id)
                index = started_by_run.get(body.run_id)
                if index is not None:
                    runs[index] = runs[index].model_copy(
                        update={"finished_at": record.at, "exit_status": body.exit_status}
                    )
            elif isinstance(body, ScenarioStarted):
                scenarios.setdefault(body.tenant, {})[(run_id, body.nodeid)] = ScenarioResult(
                    run_id=run_id,
                    nodeid=body.nodeid,
                    scenario=body.scenario,
                    feature=body.feature,
                    plan_section=body.plan_section,
                    outcome="incomplete",
                    duration_seconds=None,
                )
            elif isinstance(body, ScenarioFinished):
                known = scenarios.setdefault(body.tenant, {})
                started = known.get((run_id, body.nodeid))
                if started is not None:
                    known[(run_id, body.nodeid)] = started.model_copy(
                        update={"outcome": body.outcome, "duration_seconds": body.duration_seconds}
                    )
            else:
                field = _SECTION_FIELD[type(body)]
                tenant = getattr(body, "tenant", None)
                sections.setdefault(tenant, {}).setdefault(field, []).append(body)
                if isinstance(body, EnactmentAudit) or (
                    isinstance(body, Measurement) and _is_autonomy(body.qi_id, catalog)
                ):
                    pilot.setdefault(field, []).append(body)
    if len(references) > 1:
        digests = ", ".join(sorted(ref.digest[:19] for ref in references))
        raise BundleError(
            f"the chains were made against different QI catalogs ({digests}); evidence from "
            f"different catalogs cannot be combined"
        )
    if not references:
        raise BundleError("the evidence chain has no run_started record; it is not a run's chain")
    tenant_ids = sorted({t for t in sections if t} | {t for t in scenarios if t})
    rehearsal = any(run.rehearsal for run in runs)
    reference = references.pop()
    draft = draft_label(reference)
    return BundleViews(
        rehearsal=rehearsal,
        draft_catalog=draft is not None,
        time_scales=tuple(sorted({run.target.time_scale for run in runs})),
        catalog=reference,
        runs=tuple(runs),
        tenants={
            t: _section(sections.get(t, {}), scenarios.get(t, {}), tenant=t) for t in tenant_ids
        },
        run_wide=_section(sections.get(None, {}), scenarios.get(None, {})),
        autonomy_pilot=_section(pilot, {}),
        dod=_dod_rows(chains, catalog, rehearsal, draft),
    )


def materialize(
    chains: Sequence[ChainSegment], catalog: QiCatalog, *, release: str, signing: SigningInfo
) -> EvidenceBundle:
    """A whole bundle: chains plus the views computed from them."""
    views = materialize_views(chains, catalog)
    return EvidenceBundle(
        release=release,
        generated_at=datetime.now(UTC),
        signing=signing,
        chains=tuple(chains),
        **dict(views),
    )


def write_bundle(bundle: EvidenceBundle, path: Path) -> None:
    """Validate against the committed schema, then write atomically."""
    document = bundle.model_dump(mode="json")
    validate_instance("evidence-bundle", document, where=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_bundle_document(path: Path) -> dict[str, object]:
    """The bundle's JSON, schema-checked; raw so that record hashes are recomputed as stored."""
    document = read_json_object(path, what="evidence bundle", error=BundleError)
    validate_instance("evidence-bundle", document, where=str(path))
    return document


def parse_bundle(document: dict[str, object], *, where: str) -> EvidenceBundle:
    try:
        return EvidenceBundle.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BundleError(
            f"evidence bundle {where}: {dotted(first['loc'])}: {first['msg']}"
        ) from None


def read_bundle(path: Path) -> EvidenceBundle:
    """Read and schema-validate a bundle (no chain or signature verification: see verify)."""
    return parse_bundle(read_bundle_document(path), where=str(path))


_SECTION_FIELD: dict[type, str] = {
    Measurement: "measurements",
    TripwireObservation: "tripwires",
    DrillTimeline: "drills",
    EnactmentAudit: "enactments",
    Artifact: "artifacts",
    ToolRun: "tool_runs",
    BakeEvent: "bake_events",
    BakeCheckpoint: "slices",
    DayVerdict: "days",
}


def _is_autonomy(qi_id: str, catalog: QiCatalog) -> bool:
    return any(qi.id == qi_id and qi.category == "autonomy" for qi in catalog.qis)


def _run_summary(body: RunStarted, chain_id: str, at: datetime) -> RunSummary:
    return RunSummary(
        run_id=body.run_id,
        chain_id=chain_id,
        release=body.release,
        started_at=at,
        finished_at=None,
        exit_status=None,
        target=body.target,
        rehearsal=body.rehearsal,
        suite_version=body.suite_version,
        tools=body.tools,
        git_commit=body.git_commit,
    )


def _section(
    parts: dict[str, list[object]],
    scenarios: dict[tuple[str | None, str], ScenarioResult],
    *,
    tenant: str | None = None,
) -> Section:
    days = [day for day in parts.get("days", []) if isinstance(day, DayVerdict)]
    streak = compute_streak(tenant, days) if tenant is not None and days else None
    return Section.model_validate(
        {**parts, "scenarios": list(scenarios.values()), "streak": streak}
    )


def _dod_rows(
    chains: Sequence[ChainSegment], catalog: QiCatalog, rehearsal: bool, draft: str | None
) -> tuple[DodRow, ...]:
    latest: dict[tuple[str, str | None], Measurement] = {}
    days: dict[str, list[DayVerdict]] = {}
    for chain in chains:
        for record in chain.records:
            if isinstance(record.body, Measurement):
                latest[(record.body.qi_id, record.body.tenant)] = record.body
            elif isinstance(record.body, DayVerdict):
                days.setdefault(record.body.tenant, []).append(record.body)
    weaker = [
        *(["rehearsal: cannot satisfy a GA DoD item"] if rehearsal else []),
        *([f"{draft}: cannot satisfy a DoD item"] if draft is not None else []),
    ]
    labels = f" ({'; '.join(weaker)})" if weaker else ""
    rows: list[DodRow] = []
    for qi in catalog.qis:
        if not qi.dod:
            continue
        measured = sorted(
            (m for (qi_id, _), m in latest.items() if qi_id == qi.id),
            key=lambda m: m.tenant or "",
        )
        if not measured:
            rows.append(
                DodRow(
                    qi_id=qi.id,
                    title=qi.title,
                    tenant=None,
                    value=None,
                    unit=qi.unit,
                    comparator=qi.comparator,
                    threshold=qi.target,
                    verdict=Verdict.INCONCLUSIVE,
                    rehearsal=rehearsal,
                    draft_catalog=draft is not None,
                    satisfied=False,
                    reason="not measured in this evidence",
                )
            )
        for m in measured:
            streak = (
                compute_streak(m.tenant, days.get(m.tenant, ()))
                if qi.kind == "streak" and m.tenant is not None
                else None
            )
            rows.append(
                DodRow(
                    qi_id=qi.id,
                    title=qi.title,
                    tenant=m.tenant,
                    value=m.value,
                    unit=m.unit,
                    comparator=m.comparator,
                    threshold=m.threshold,
                    verdict=m.verdict,
                    rehearsal=rehearsal,
                    draft_catalog=draft is not None,
                    satisfied=m.verdict == Verdict.PASS and not weaker,
                    reason=m.reason + labels,
                    note=(
                        None
                        if streak is None
                        else compressed_days(m.value, streak.day_plan_seconds)
                    ),
                )
            )
    return tuple(rows)
