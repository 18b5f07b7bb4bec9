"""The public recording API for step code: the `mc_evidence` fixture (docs/writing-steps.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from pytest_mc.evidence.records import (
    ActivityRecord,
    Artifact,
    ArtifactKind,
    DrillTimeline,
    MeasurementWindow,
    ToolRun,
    TripwireObservation,
)
from pytest_mc.policy.catalog import DEFAULT_CATALOG_PATH, QiCatalog
from pytest_mc.policy.verdict import Judgement, Ratio
from pytest_mc.session import SESSION_KEY, EvidenceSession
from pytest_mc.target.profile import TargetProfile


class McEvidence:
    """Records evidence for the scenario that requested it; every call is acknowledged
    by the chain before it returns, so nothing recorded is lost if the run dies later."""

    def __init__(self, session: EvidenceSession, nodeid: str) -> None:
        self._session = session
        self._nodeid = nodeid

    @property
    def catalog(self) -> QiCatalog:
        return self._session.catalog

    @property
    def profile(self) -> TargetProfile:
        return self._session.profile

    @property
    def run_id(self) -> str:
        """The id of this run (shared by every xdist worker)."""
        return self._session.run_id

    @property
    def catalog_path(self) -> Path:
        """The catalog file the run was started with."""
        return self._session.settings.catalog or DEFAULT_CATALOG_PATH

    @property
    def out_dir(self) -> Path:
        """The run's output directory (bundle, artifacts, allure-results, plan-waits.jsonl)."""
        return self._session.paths.out_dir

    @property
    def chain_path(self) -> Path:
        """The chain file this run appends to (read it with `pytest_mc.evidence.chain`)."""
        return self._session.paths.chain

    @property
    def time_scale(self) -> float:
        return self._session.profile.time_scale

    def plan_seconds(self, wall_seconds: float) -> float:
        """A wall-clock duration measured on the target, in plan time (× time_scale)."""
        return wall_seconds * self.time_scale

    def measure(
        self,
        qi_id: str,
        value: float | Ratio | None,
        *,
        tenant: str | None,
        window: MeasurementWindow | None = None,
        source: str = "step",
        samples: int | None = None,
    ) -> Judgement:
        """Judge `value` (in the QI's catalog unit, plan time) and record it; returns the
        judgement. Rates take a `Ratio(events=..., trials=...)`; `None` means no data."""
        return self._session.recorder.measure(
            qi_id,
            value,
            tenant=tenant,
            source=source,
            window=window,
            samples=samples,
            nodeid=self._nodeid,
        )

    def attach(
        self,
        content: Path | bytes,
        *,
        name: str,
        kind: ArtifactKind = "other",
        tenant: str | None = None,
        media_type: str | None = None,
    ) -> Artifact:
        """Keep a file or bytes as evidence (sha256 recorded; text is redacted first)."""
        return self._session.recorder.attach(
            content, name=name, kind=kind, tenant=tenant, media_type=media_type, nodeid=self._nodeid
        )

    def tripwire(
        self,
        qi_id: str,
        *,
        tenant: str | None,
        condition: str,
        condition_seen_at: datetime,
        action_observed: str | None,
        action_observed_at: datetime | None,
        deadline_seconds: float,
    ) -> TripwireObservation:
        """Record a tripwire observation; its verdict is pass only when the catalog's action
        for `qi_id` was observed within `deadline_seconds` of plan time."""
        return self._session.recorder.tripwire(
            qi_id,
            tenant=tenant,
            condition=condition,
            condition_seen_at=condition_seen_at,
            action_observed=action_observed,
            action_observed_at=action_observed_at,
            deadline_seconds=deadline_seconds,
            time_scale=self.time_scale,
            nodeid=self._nodeid,
        )

    def tool_run(
        self,
        activity: ActivityRecord,
        *,
        tenant: str | None = None,
        version: str | None = None,
        binary_sha256: str | None = None,
    ) -> ToolRun:
        """Record one run of an external tool from the runner's activity record."""
        return self._session.recorder.tool_run(
            activity,
            tenant=tenant,
            version=version,
            binary_sha256=binary_sha256,
            nodeid=self._nodeid,
        )

    def drill(self, timeline: DrillTimeline) -> DrillTimeline:
        """Record a DR drill's timeline (RPO/RTO in plan seconds)."""
        recorded = timeline.model_copy(update={"nodeid": self._nodeid})
        self._session.recorder.record(recorded)
        return recorded

    def register_secret(self, secret: str) -> None:
        """Never let `secret` reach the evidence (it is redacted wherever it appears)."""
        self._session.redactor.register(secret)


@pytest.fixture
def mc_evidence(request: pytest.FixtureRequest) -> McEvidence:
    """Record measurements, artifacts and tripwire observations for this scenario."""
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None:
        raise pytest.UsageError(
            "mc_evidence needs pytest-mc switched on: pass --mc-target PROFILE (or --mc-out DIR) "
            "or set mc_target in the ini file"
        )
    return McEvidence(session, request.node.nodeid)


@pytest.fixture(scope="session")
def mc_profile(request: pytest.FixtureRequest) -> TargetProfile:
    """The target profile of this run."""
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None:
        raise pytest.UsageError("mc_profile needs pytest-mc switched on: pass --mc-target PROFILE")
    return session.profile


@pytest.fixture(scope="session")
def mc_catalog(request: pytest.FixtureRequest) -> QiCatalog:
    """The QI catalog every number is judged against."""
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None:
        raise pytest.UsageError("mc_catalog needs pytest-mc switched on: pass --mc-target PROFILE")
    return session.catalog
