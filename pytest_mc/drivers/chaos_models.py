"""What the chaos driver returns: pydantic models of an experiment run (no chaoslib dicts).

`ChaosResult` is the driver's answer; `ChaosActivity` mirrors chaostoolkit's activity record
with the phase it ran in; `ExperimentInfo` describes a validated experiment file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid", frozen=True)

Phase = Literal["steady-state-before", "method", "steady-state-after", "rollback", "restore-check"]
ChaosStatus = Literal["completed", "failed", "aborted", "interrupted", "timed_out"]
ConfigValue = str | int | float | bool


class ChaosActivity(BaseModel):
    """One probe or action of a run, in chaostoolkit's activity-record shape."""

    model_config = _STRICT
    name: str
    phase: Phase
    activity_type: Literal["probe", "action"]
    status: Literal["succeeded", "failed"]
    started_at: datetime
    ended_at: datetime
    duration_seconds: float = Field(ge=0)
    error: str | None = None


class ExperimentInfo(BaseModel):
    """A validated experiment file: what it declares, without its secrets."""

    model_config = _STRICT
    path: Path
    title: str
    tags: tuple[str, ...]
    configuration_keys: tuple[str, ...]
    probes: tuple[str, ...]
    actions: tuple[str, ...]
    rollbacks: tuple[str, ...]


class ChaosResult(BaseModel):
    """What one experiment run did, and whether the target is back where it started."""

    model_config = _STRICT
    experiment_title: str
    experiment_path: Path
    status: ChaosStatus
    deviated: bool
    steady_state_before_met: bool | None
    rolled_back: bool = Field(description="every declared rollback succeeded")
    rollback_retried: bool = Field(description="rollbacks re-run after chaoslib could not")
    steady_state_restored: bool
    interrupted: bool
    interrupted_by: str | None = None
    timed_out: bool
    journal_path: Path
    journal_sha256: str
    configuration: dict[str, str] = Field(description="target configuration, no secrets")
    activities: tuple[ChaosActivity, ...]
    started_at: datetime
    ended_at: datetime
    duration_seconds: float = Field(ge=0)
    restore_seconds: float | None = Field(default=None, description="wall seconds")
    chaoslib_version: str
