"""The JSON shapes of the control CLI's `autonomy` commands (docs/target-contract.md §2).

They read a target's output and its `--evidence` files: unknown extra fields are ignored, every
field the pilot's scenarios rely on is required and typed. The approval token itself is a
secret: it lives only in `Approval.token`, which the steps register for redaction at once.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_TARGET = ConfigDict(extra="ignore", frozen=True)

Tier = Literal["T0", "T1", "T2", "T3"]
DerivedRows = dict[str, str | None]


class DerivedChange(BaseModel):
    """One derived row a simulation predicts (or an enactment applies): before and after."""

    model_config = _TARGET
    name: str
    before: str | None = None
    after: str | None = None


class SimulationRecord(BaseModel):
    """`autonomy simulate --evidence FILE`: the op-set run in a shadow copy."""

    model_config = _TARGET
    kind: Literal["simulation"]
    simulation_id: str
    tenant: str
    op_set: str
    scope: str
    tier: str
    created_at: float
    source_region: str
    regions: tuple[str, ...]
    base_digest: str
    base_entities: int = Field(ge=0)
    derived_before: DerivedRows
    predicted_changes: tuple[DerivedChange, ...]
    risk_score: float
    digest: str


class Approval(BaseModel):
    """`autonomy approve`: the HITL approval token, for whom and until when (wall clock)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    token: str
    tenant: str
    simulation_id: str
    expires_at: float = Field(description="Unix epoch wall seconds, from the requested TTL")


class ApprovalReference(BaseModel):
    """How an enactment record refers to its approval: never the token itself."""

    model_config = _TARGET
    token_id: str
    token_fingerprint: str
    approver: str


class EnactmentRecord(BaseModel):
    """`autonomy enact --evidence FILE`: the audit record of one enactment, aborted or not."""

    model_config = _TARGET
    kind: Literal["enactment"]
    enactment_id: str
    tenant: str
    simulation_id: str
    simulation_digest: str
    op_set: str
    approval: ApprovalReference | None = None
    started_at: float
    finished_at: float
    regions: tuple[str, ...]
    applied_regions: tuple[str, ...]
    prior_state: DerivedRows
    applied_changes: tuple[DerivedChange, ...]
    outcome: Literal["succeeded", "aborted"]
    abort_reason: str | None = None
    matches_simulation: bool | None = None
    risk_score_simulated: float | None = None
    risk_score_at_enact: float | None = None
    drifted_rows: tuple[str, ...] = ()
    digest: str


class CompensationRecord(BaseModel):
    """`autonomy compensate --json`: the prior state put back after an enactment."""

    model_config = _TARGET
    kind: Literal["compensation"]
    enactment_id: str
    tenant: str
    at: float
    restored_regions: tuple[str, ...]
    restored_state: DerivedRows
    already_compensated: bool
    digest: str


class AutonomyStatus(BaseModel):
    """`autonomy status --json` (also the answer of `autonomy set` and `autonomy abort`)."""

    model_config = _TARGET
    tenant: str
    tier: Tier
    scope: str
    require_hitl: bool
    halted: bool
    halt_reason: str | None = None
    enactments_enabled: bool
    simulations: int = Field(ge=0)
    enactments: int = Field(ge=0)
    succeeded: int = Field(ge=0)
    aborted: int = Field(ge=0)
    compensations: int = Field(ge=0)
    simulation_false_negatives: int = Field(ge=0)


class AuditLogEntry(BaseModel):
    """One record of the target's append-only provenance log (`provenance log --json`)."""

    model_config = _TARGET
    seq: int
    action: str
    tenant: str | None = None
    details: dict[str, object] = Field(default_factory=dict)
    hash: str


class AuditLog(BaseModel):
    model_config = _TARGET
    records: tuple[AuditLogEntry, ...]
    chain_valid: bool
    first_broken_seq: int | None = None
