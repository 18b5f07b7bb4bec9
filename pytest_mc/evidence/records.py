"""The record kinds of the evidence chain (DESIGN §7), one pydantic model each.

A `ChainRecord` is the envelope (sequence number, previous hash, time, writer, own hash);
its `body` is exactly one of the record kinds below, told apart by `kind`. These models
are the single source of truth for `schemas/evidence-record.schema.json`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.policy.catalog import CatalogReference
from pytest_mc.policy.verdict import Verdict

_STRICT = ConfigDict(extra="forbid", frozen=True)

Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class TargetInfo(BaseModel):
    """The target a run was made against."""

    model_config = _STRICT
    name: str
    environment: str
    glb_url: str | None = None
    time_scale: float = Field(ge=1.0)


class RunStarted(BaseModel):
    """A pytest session began writing to this chain."""

    model_config = _STRICT
    kind: Literal["run_started"] = "run_started"
    run_id: str
    release: str
    target: TargetInfo
    rehearsal: bool
    catalog: CatalogReference
    suite_version: str
    tools: dict[str, str] = Field(default_factory=dict, description="tool name → version")
    git_commit: str | None = None
    argv: tuple[str, ...] = ()


class RunFinished(BaseModel):
    """The session that wrote `run_id` ended; `exit_status` is pytest's."""

    model_config = _STRICT
    kind: Literal["run_finished"] = "run_finished"
    run_id: str
    exit_status: int
    scenarios: int
    failed: int


class ScenarioStarted(BaseModel):
    """A scenario (or plain test) began."""

    model_config = _STRICT
    kind: Literal["scenario_started"] = "scenario_started"
    nodeid: str
    feature: str | None = None
    scenario: str
    tenant: str | None = None
    plan_section: str | None = None


class ScenarioFinished(BaseModel):
    """A scenario ended; its evidence is complete."""

    model_config = _STRICT
    kind: Literal["scenario_finished"] = "scenario_finished"
    nodeid: str
    tenant: str | None = None
    outcome: Literal["passed", "failed", "skipped", "error"]
    duration_seconds: float = Field(ge=0)
    message: str | None = None


class MeasurementWindow(BaseModel):
    """The time a measurement covers: wall clock bounds and its length in plan time."""

    model_config = _STRICT
    start: datetime | None = None
    end: datetime | None = None
    plan_seconds: float | None = Field(default=None, ge=0)


class Measurement(BaseModel):
    """A value judged against a QI of the catalog."""

    model_config = _STRICT
    kind: Literal["measurement"] = "measurement"
    qi_id: str
    tenant: str | None = None
    nodeid: str | None = None
    value: float | None
    unit: str
    comparator: str
    threshold: float
    verdict: Verdict
    reason: str
    events: int | None = None
    trials: int | None = None
    confidence: float | None = None
    bound: float | None = None
    more_trials_needed: int | None = None
    window: MeasurementWindow | None = None
    source: str


class TripwireObservation(BaseModel):
    """A tripwire condition seen, the auto-action expected, and whether and when it happened."""

    model_config = _STRICT
    kind: Literal["tripwire_observation"] = "tripwire_observation"
    qi_id: str
    tenant: str | None = None
    nodeid: str | None = None
    condition: str
    condition_seen_at: datetime
    action_expected: str
    action_observed: str | None = None
    action_observed_at: datetime | None = None
    deadline_seconds: float = Field(ge=0, description="plan seconds")
    time_to_action_seconds: float | None = Field(default=None, description="plan seconds")
    verdict: Verdict


class DrillEvent(BaseModel):
    """One step of a DR drill."""

    model_config = _STRICT
    at: datetime
    event: str
    detail: str | None = None


class DrillTimeline(BaseModel):
    """A DR drill: what was killed, when, and the RPO/RTO measured from real data."""

    model_config = _STRICT
    kind: Literal["drill_timeline"] = "drill_timeline"
    tenant: str
    nodeid: str | None = None
    region_lost: str
    events: tuple[DrillEvent, ...]
    rpo_seconds: float | None = Field(default=None, description="plan seconds")
    rto_seconds: float | None = Field(default=None, description="plan seconds")


class EnactmentAudit(BaseModel):
    """The audit of one autonomy enactment (plan §B.1: audit evidence on every enactment)."""

    model_config = _STRICT
    kind: Literal["enactment_audit"] = "enactment_audit"
    tenant: str
    nodeid: str | None = None
    enactment_id: str
    op_set: str
    tier: str
    scope: str
    simulation_digest: str
    approval_fingerprint: str | None = Field(
        default=None, description="sha256 prefix of the approval token; never the token"
    )
    outcome: Literal["enacted", "refused", "aborted", "compensated"]
    changes: int = Field(ge=0)
    detail: str | None = None


ArtifactKind = Literal[
    "k6-summary", "k6-report", "chaos-journal", "chart", "log", "json", "report", "other"
]


class Artifact(BaseModel):
    """A file kept as evidence, stored content-addressed next to the chain."""

    model_config = _STRICT
    kind: Literal["artifact"] = "artifact"
    name: str
    artifact_kind: ArtifactKind
    path: str = Field(description="relative to the evidence directory")
    sha256: Sha256Hex
    size_bytes: int = Field(ge=0)
    media_type: str
    tenant: str | None = None
    nodeid: str | None = None


RunStatus = Literal["succeeded", "failed", "timed_out", "interrupted"]


class ActivityRecord(BaseModel):
    """What one tool run did: enough to reproduce and to audit it, nothing secret."""

    model_config = _STRICT
    tool: str
    argv: tuple[str, ...]
    started_at: datetime
    ended_at: datetime
    duration_seconds: float = Field(ge=0)
    status: RunStatus
    exit_code: int | None
    stdout_sha256: str
    stderr_sha256: str
    stderr_tail: str


class ToolRun(BaseModel):
    """One run of an external tool (k6, chaos, the control CLI): what ran and how it ended.

    `version` and `binary_sha256` name the exact tool that produced a number, so an auditor
    can reproduce it; output is kept as digests (and as artifacts where it matters)."""

    model_config = _STRICT
    kind: Literal["tool_run"] = "tool_run"
    tool: str
    argv: tuple[str, ...]
    status: RunStatus
    exit_code: int | None
    started_at: datetime
    ended_at: datetime
    duration_seconds: float = Field(ge=0)
    stdout_sha256: Sha256Hex
    version: str | None = None
    binary_sha256: Sha256Hex | None = None
    tenant: str | None = None
    nodeid: str | None = None


class BakePlanInfo(BaseModel):
    """How a bake is cut: its plan-time length, slices and days, and the time scale it ran at."""

    model_config = _STRICT
    duration_plan_seconds: float = Field(gt=0)
    slice_plan_seconds: float = Field(gt=0)
    slices: int = Field(ge=1)
    day_plan_seconds: float = Field(gt=0, description="plan seconds judged as one day")
    days: int = Field(ge=0, description="whole days the bake judges")
    time_scale: float = Field(ge=1.0)
    rehearsal: bool = Field(
        description="time_scale != 1, a day shorter than 24h or a bake shorter than stage_bake"
    )


class BakeEvent(BaseModel):
    """A bake began, was resumed, was interrupted or finished (`mc-verify bake`)."""

    model_config = _STRICT
    kind: Literal["bake_event"] = "bake_event"
    bake_id: str
    run_id: str
    tenant: str
    event: Literal["started", "resumed", "interrupted", "finished"]
    plan: BakePlanInfo
    next_slice: int = Field(ge=0, description="the first slice not yet completed")
    outcome: Literal["passed", "failed", "inconclusive"] | None = None
    detail: str | None = None


class SliceGates(BaseModel):
    """The numbers a bake slice measured: enough to judge it and to rebuild its day."""

    model_config = _STRICT
    requests: int | None = Field(default=None, ge=0)
    server_errors: int | None = Field(default=None, ge=0)
    latency_bound_seconds: float | None = None
    latency_within_bound: int | None = Field(default=None, ge=0)
    latency_count: int | None = Field(default=None, ge=0)
    max_lag_seconds: float | None = Field(default=None, description="plan seconds")
    conflicts: int | None = Field(default=None, ge=0)
    writes: int | None = Field(default=None, ge=0)
    privacy_violations: int | None = Field(default=None, ge=0)
    max_budget_consumed: float | None = None
    verdicts: dict[str, Verdict] = Field(
        default_factory=dict, description="QI id → verdict of the slice's gate measurement"
    )


class BakeCheckpoint(BaseModel):
    """One bake slice completed: written after its measurements, so `--resume` skips it."""

    model_config = _STRICT
    kind: Literal["bake_checkpoint"] = "bake_checkpoint"
    bake_id: str
    run_id: str
    tenant: str
    slice_index: int = Field(ge=0)
    slices: int = Field(ge=1)
    plan_start_seconds: float = Field(ge=0, description="offset in the bake, plan time")
    plan_end_seconds: float = Field(gt=0)
    started_at: datetime
    ended_at: datetime
    status: Literal["completed"] = "completed"
    gates: SliceGates
    green: bool


class CategoryVerdict(BaseModel):
    """One of the three "green" conditions of a day, with the reasons of its measurements."""

    model_config = _STRICT
    category: Literal["slo", "cost", "privacy"]
    verdict: Verdict
    qi_ids: tuple[str, ...]
    reasons: tuple[str, ...]


class DayVerdict(BaseModel):
    """One day of a tenant judged green or not on SLO, cost and privacy (the 14-day DoD)."""

    model_config = _STRICT
    kind: Literal["day_verdict"] = "day_verdict"
    bake_id: str
    tenant: str
    day_index: int = Field(ge=0)
    day_plan_seconds: float = Field(gt=0)
    plan_start_seconds: float = Field(ge=0, description="offset in the bake, plan time")
    plan_end_seconds: float = Field(gt=0)
    started_at: datetime
    ended_at: datetime
    time_scale: float = Field(ge=1.0)
    slo: CategoryVerdict
    cost: CategoryVerdict
    privacy: CategoryVerdict
    green: bool
    rehearsal: bool
    scale: str = Field(description="the day's length in plan and wall time, and why")


RecordBody = Annotated[
    RunStarted
    | RunFinished
    | ScenarioStarted
    | ScenarioFinished
    | Measurement
    | TripwireObservation
    | DrillTimeline
    | EnactmentAudit
    | Artifact
    | ToolRun
    | BakeEvent
    | BakeCheckpoint
    | DayVerdict,
    Field(discriminator="kind"),
]


class ChainRecord(BaseModel):
    """One line of the chain: `hash` is sha256 over the RFC 8785 form of every other field."""

    model_config = _STRICT
    seq: int = Field(ge=0)
    prev: Sha256Hex
    at: datetime
    writer: str = Field(description="who appended it: 'controller', an xdist worker id, ...")
    body: RecordBody
    hash: Sha256Hex


GENESIS_HASH = "0" * 64
