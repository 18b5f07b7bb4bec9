"""The recording boundary: judge, redact, store artifacts and append records to the chain.

`EvidenceRecorder` is what step code reaches through the `mc_evidence` fixture. Every value
it records is judged against the QI catalog here (never in step code), every string is
redacted here, and every artifact is stored content-addressed here, before the chain
acknowledges the record. It does not know pytest: the plugin passes `listeners` that turn
records into hook calls.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pytest_mc.evidence.chain import EvidenceChain, parse_body
from pytest_mc.evidence.records import (
    ActivityRecord,
    Artifact,
    ArtifactKind,
    ChainRecord,
    Measurement,
    MeasurementWindow,
    RecordBody,
    ToolRun,
    TripwireObservation,
)
from pytest_mc.evidence.redaction import Redactor
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Judgement, Ratio, Verdict, judge

Listener = Callable[[ChainRecord], None]
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class EvidencePaths:
    """Where one release's evidence lives inside the output directory."""

    out_dir: Path
    release: str

    @property
    def chain(self) -> Path:
        return self.out_dir / f"evidence-{self.release}.chain.jsonl"

    @property
    def bundle(self) -> Path:
        return self.out_dir / f"evidence-{self.release}.json"

    @property
    def artifacts(self) -> Path:
        return self.out_dir / "artifacts"

    @property
    def junit(self) -> Path:
        """The run's scenarios as JUnit XML, for CI (written by `mc-verify run`)."""
        return self.out_dir / f"junit-{self.release}.xml"

    @property
    def cucumber(self) -> Path:
        """The run's scenarios as Cucumber JSON (written by `mc-verify run`)."""
        return self.out_dir / f"cucumber-{self.release}.json"


class EvidenceRecorder:
    """Appends judged, redacted records for one process (controller or xdist worker)."""

    def __init__(
        self,
        paths: EvidencePaths,
        catalog: QiCatalog,
        *,
        writer: str,
        redactor: Redactor | None = None,
        listeners: tuple[Listener, ...] = (),
        durable: bool = True,
    ) -> None:
        self.paths = paths
        self.catalog = catalog
        self.redactor = redactor or Redactor()
        self._listeners = listeners
        self._chain = EvidenceChain(paths.chain, writer=writer, durable=durable)

    def close(self) -> None:
        self._chain.close()

    def record(self, body: RecordBody) -> ChainRecord:
        """Redact, append and announce one record; returns it once acknowledged."""
        clean = parse_body(self.redactor.json(body.model_dump(mode="json")))
        record = self._chain.append(clean)
        for listener in self._listeners:
            listener(record)
        return record

    def measure(
        self,
        qi_id: str,
        value: float | Ratio | None,
        *,
        tenant: str | None,
        source: str,
        window: MeasurementWindow | None = None,
        samples: int | None = None,
        nodeid: str | None = None,
    ) -> Judgement:
        """Judge `value` against QI `qi_id` of the catalog and record the measurement."""
        qi = self.catalog.get(qi_id)
        judgement = judge(qi, value, samples=samples)
        self.record(
            Measurement(
                qi_id=qi.id,
                tenant=tenant,
                nodeid=nodeid,
                value=judgement.value,
                unit=judgement.unit,
                comparator=judgement.comparator,
                threshold=judgement.threshold,
                verdict=judgement.verdict,
                reason=judgement.reason,
                events=judgement.events,
                trials=judgement.trials,
                confidence=judgement.confidence,
                bound=judgement.bound,
                more_trials_needed=judgement.more_trials_needed,
                window=window,
                source=source,
            )
        )
        return judgement

    def attach(
        self,
        content: Path | bytes,
        *,
        name: str,
        kind: ArtifactKind,
        tenant: str | None = None,
        media_type: str | None = None,
        nodeid: str | None = None,
    ) -> Artifact:
        """Store a file (redacted when it is text) content-addressed and record it."""
        data = content.read_bytes() if isinstance(content, Path) else content
        data = self.redactor.data(data)
        # The name becomes part of the stored file's path: redact it before, not only in the
        # record, or the secret lands on disk and the recorded path names no stored file.
        name = self.redactor.text(name)
        digest = hashlib.sha256(data).hexdigest()
        safe_name = _UNSAFE_NAME.sub("_", name).strip("._") or "artifact"
        relative = Path("artifacts") / f"{digest[:16]}-{safe_name}"
        stored = self.paths.out_dir / relative
        stored.parent.mkdir(parents=True, exist_ok=True)
        if not stored.exists():
            partial = stored.with_name(stored.name + ".partial")
            partial.write_bytes(data)
            partial.replace(stored)
        guessed = mimetypes.guess_type(name)[0]
        artifact = Artifact(
            name=name,
            artifact_kind=kind,
            path=relative.as_posix(),
            sha256=digest,
            size_bytes=len(data),
            media_type=media_type or guessed or "application/octet-stream",
            tenant=tenant,
            nodeid=nodeid,
        )
        self.record(artifact)
        return artifact

    def tool_run(
        self,
        activity: ActivityRecord,
        *,
        tenant: str | None = None,
        version: str | None = None,
        binary_sha256: str | None = None,
        nodeid: str | None = None,
    ) -> ToolRun:
        """Record one external tool run (the runner has already redacted its command line)."""
        run = ToolRun(
            tool=activity.tool,
            argv=activity.argv,
            status=activity.status,
            exit_code=activity.exit_code,
            started_at=activity.started_at,
            ended_at=activity.ended_at,
            duration_seconds=activity.duration_seconds,
            stdout_sha256=activity.stdout_sha256,
            version=version,
            binary_sha256=binary_sha256,
            tenant=tenant,
            nodeid=nodeid,
        )
        self.record(run)
        return run

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
        time_scale: float,
        nodeid: str | None = None,
    ) -> TripwireObservation:
        """Record a tripwire observation: passes only if the catalog's action came in time.

        Times are wall clock; `deadline_seconds` and the recorded time to action are plan
        time (wall × `time_scale`).
        """
        qi = self.catalog.get(qi_id)
        expected = qi.action or "(none)"
        time_to_action = None
        if action_observed_at is not None:
            wall = (action_observed_at - condition_seen_at).total_seconds()
            time_to_action = wall * time_scale
        in_time = time_to_action is not None and time_to_action <= deadline_seconds
        verdict = Verdict.PASS if action_observed == expected and in_time else Verdict.FAIL
        observation = TripwireObservation(
            qi_id=qi.id,
            tenant=tenant,
            nodeid=nodeid,
            condition=condition,
            condition_seen_at=condition_seen_at,
            action_expected=expected,
            action_observed=action_observed,
            action_observed_at=action_observed_at,
            deadline_seconds=deadline_seconds,
            time_to_action_seconds=time_to_action,
            verdict=verdict,
        )
        self.record(observation)
        return observation
