"""Allure output: labels, per-step evidence attachments and the results directory's metadata.

The only module that imports allure. It is registered by the plugin when allure-pytest-bdd
writes results (`--alluredir`), listens to pytest-bdd and pytest-mc hooks, and never changes
what is recorded: it only shows it. At the end of the session (controller only) it writes
`environment.properties`, `categories.json` and `executor.json` next to the results.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import allure
import pytest
from allure_commons.types import AttachmentType, LabelType

from pytest_mc.evidence.records import Artifact, ChainRecord, Measurement, TripwireObservation
from pytest_mc.items import marker_value, tenant_of
from pytest_mc.policy.catalog import DRAFT_CATALOG, catalog_reference, draft_label
from pytest_mc.policy.raci import workstream_for
from pytest_mc.session import EvidenceSession, is_worker

SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")

# Allure sorts failures into these by status and message. Step code phrases its assertion
# messages to match: "tripwire ..." for tripwire breaches, "gate ..." for failed gates.
# [\s\S]* spans line breaks in both Allure 2 (Java, whole-message match) and Allure 3
# (JavaScript, which rejects an inline "(?s)" and would then match nothing).
CATEGORIES = (
    {
        "name": "Tripwire breach (auto-action missing or late)",
        "matchedStatuses": ["failed"],
        "messageRegex": r"[\s\S]*tripwire[\s\S]*",
    },
    {
        "name": "Validation gate or DoD item failed",
        "matchedStatuses": ["failed"],
        "messageRegex": r"[\s\S]*(gate|DoD|QI )[\s\S]*",
    },
    {
        "name": "Suite or infrastructure error (the release was not judged)",
        "matchedStatuses": ["broken"],
    },
    {"name": "Other failed checks", "matchedStatuses": ["failed"]},
)


class AllureEvidence:
    """Shows pytest-mc's evidence in Allure."""

    def __init__(self, config: pytest.Config, session: EvidenceSession, directory: Path) -> None:
        self.config = config
        self.session = session
        self.directory = directory

    @pytest.hookimpl(trylast=True)
    def pytest_bdd_before_scenario(
        self, request: pytest.FixtureRequest, feature: object, scenario: object
    ) -> None:
        item = request.node
        section = marker_value(item, "mc_plan")
        workstream = workstream_for(section, marker_value(item, "mc_workstream"))
        if workstream is not None:
            allure.dynamic.epic(workstream.name)
            allure.dynamic.label("owner", workstream.responsible)
            allure.dynamic.label("accountable", workstream.accountable)
        allure.dynamic.story(str(getattr(scenario, "name", item.name)))
        if section:
            allure.dynamic.label("plan_section", section)
        tenant = tenant_of(item)
        if tenant:
            allure.dynamic.label("tenant", tenant)
            allure.dynamic.tag(tenant)
        severity = marker_value(item, "mc_severity") or "normal"
        allure.dynamic.label(LabelType.SEVERITY, severity)
        if self.session.profile.is_rehearsal:
            allure.dynamic.tag("rehearsal")
        if _draft(self.session) is not None:
            allure.dynamic.tag(DRAFT_CATALOG)

    def pytest_mc_measurement_recorded(
        self, config: pytest.Config, record: ChainRecord, measurement: Measurement
    ) -> None:
        name = f"{measurement.qi_id}: {measurement.verdict.value} ({measurement.reason})"
        _attach_json(record, name)

    def pytest_mc_tripwire_observed(
        self, config: pytest.Config, record: ChainRecord, observation: TripwireObservation
    ) -> None:
        name = f"tripwire {observation.qi_id}: {observation.verdict.value}"
        _attach_json(record, name)

    def pytest_mc_artifact_recorded(
        self, config: pytest.Config, record: ChainRecord, artifact: Artifact, path: Path
    ) -> None:
        allure.attach.file(
            str(path),
            name=f"{artifact.name} (sha256 {artifact.sha256[:12]})",
            attachment_type=_attachment_type(artifact.media_type),
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if is_worker(self.config):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        write_environment(self.directory, self.session)
        (self.directory / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n")
        executor = {
            "name": "pytest-mc",
            "type": "pytest-mc",
            "buildName": f"{self.session.settings.release} run {self.session.run_id[:12]}",
            "reportName": "MC v0.3+ Expansion Plan verification",
        }
        (self.directory / "executor.json").write_text(json.dumps(executor, indent=2) + "\n")


def write_environment(directory: Path, session: EvidenceSession) -> None:
    """`environment.properties`: what an auditor needs to know about the run at a glance."""
    profile = session.profile
    catalog = session.catalog
    entries = {
        "release": session.settings.release,
        "target": profile.name,
        "environment": profile.environment,
        "time_scale": f"{profile.time_scale:g}",
        "rehearsal": "yes (cannot satisfy a GA DoD item)" if profile.is_rehearsal else "no",
        "qi_catalog": f"{catalog.version} {catalog.status} {catalog.digest}",
        "draft_catalog": "no"
        if _draft(session) is None
        else "yes (not a published version: cannot satisfy a DoD item)",
        "qi_catalog_review_due": catalog.review_due.isoformat(),
        "evidence_bundle": str(session.paths.bundle),
        "python": platform.python_version(),
    }
    lines = [f"{key}={_escape(value)}" for key, value in entries.items()]
    (directory / "environment.properties").write_text("\n".join(lines) + "\n")


def _draft(session: EvidenceSession) -> str | None:
    return draft_label(catalog_reference(session.catalog))


def _attach_json(record: ChainRecord, name: str) -> None:
    body = json.dumps(record.body.model_dump(mode="json"), indent=2)
    allure.attach(body, name=name, attachment_type=AttachmentType.JSON)


def _attachment_type(media_type: str) -> AttachmentType:
    for candidate in AttachmentType:
        if candidate.mime_type == media_type:
            return candidate
    return AttachmentType.TEXT if media_type.startswith("text/") else AttachmentType.JSON


def _escape(value: str) -> str:
    # Values may hold ':' and '='; only backslashes and line breaks need escaping there.
    return value.replace("\\", "\\\\").replace("\n", " ")
