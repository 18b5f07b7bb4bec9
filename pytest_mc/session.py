"""The evidence session: the stateful plugin object of one pytest process.

It opens the recorder, writes `run_started` / `run_finished` (controller only), wraps each
test so that `scenario_started` / `scenario_finished` are recorded by the process that runs
it, and at the end of the session materializes, validates and signs the bundle (controller
only: xdist workers append to the same chain but never write aggregates).
"""

from __future__ import annotations

import platform
import sys
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Literal

import pytest

from pytest_mc.drivers.runner import ToolRunner
from pytest_mc.drivers.toolchain import head_commit, tool_inventory
from pytest_mc.errors import McError
from pytest_mc.evidence.attestations import feature_digests, write_attestations
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import (
    Artifact,
    ChainRecord,
    Measurement,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
    TargetInfo,
    TripwireObservation,
)
from pytest_mc.evidence.redaction import Redactor
from pytest_mc.evidence.signing import load_signing_key
from pytest_mc.items import is_scenario, plan_section_of, tenant_of
from pytest_mc.policy.catalog import QiCatalog, catalog_reference, review_warning
from pytest_mc.settings import McSettings
from pytest_mc.target.profile import TargetProfile

SESSION_KEY = pytest.StashKey["EvidenceSession"]()
# The raw public key the bundle was just signed with, for an in-process caller (`mc-verify
# run`) that verifies it next: the only way to authenticate an ephemeral key's signature.
SIGNED_WITH_KEY = pytest.StashKey[bytes]()
Outcome = Literal["passed", "failed", "skipped", "error"]
_OUTCOME_ORDER: tuple[Outcome, ...] = ("error", "failed", "skipped")


@dataclass
class _Running:
    """The scenario this process is running right now."""

    nodeid: str
    tenant: str | None
    started: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    duration: float = 0.0
    message: str | None = None


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class EvidenceSession:
    """Records one process's share of a run into the shared chain."""

    def __init__(
        self,
        config: pytest.Config,
        settings: McSettings,
        catalog: QiCatalog,
        profile: TargetProfile,
        run_id: str,
    ) -> None:
        self.config = config
        self.settings = settings
        self.catalog = catalog
        self.profile = profile
        self.run_id = run_id
        self.paths = EvidencePaths(settings.out_dir, settings.release)
        writer = str(getattr(config, "workerinput", {}).get("workerid", "controller"))
        self.redactor = Redactor()
        self.recorder = EvidenceRecorder(
            self.paths, catalog, writer=writer, redactor=self.redactor, listeners=(self._announce,)
        )
        self._running: _Running | None = None
        self._finishing = False  # after the last scenario: artifacts belong to the run
        self._features: set[Path] = set()  # the feature files of the scenarios that ran
        self._scenarios = 0
        self._failed = 0

    # -- hooks -------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if is_worker(self.config):
            return
        runner = ToolRunner(self.redactor)
        root = self.config.rootpath
        inventory = tool_inventory(self.profile, project_root=root, runner=runner)
        self.recorder.record(
            RunStarted(
                run_id=self.run_id,
                release=self.settings.release,
                target=TargetInfo(
                    name=self.profile.name,
                    environment=self.profile.environment,
                    glb_url=self.profile.glb_url,
                    time_scale=self.profile.time_scale,
                ),
                rehearsal=self.profile.is_rehearsal,
                catalog=catalog_reference(self.catalog),
                suite_version=_version("pytest-mc"),
                tools={**_tool_versions(), **inventory.as_tools_dict()},
                git_commit=head_commit(runner, root),
                argv=tuple(self.config.invocation_params.args),
            )
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        self._running = _Running(nodeid=item.nodeid, tenant=tenant_of(item))
        # for JUnit XML (xunit1 keeps them as each testcase's properties)
        for name, value in (
            ("tenant", self._running.tenant),
            ("plan_section", plan_section_of(item)),
        ):
            if value is not None and (name, value) not in item.user_properties:
                item.user_properties.append((name, value))
        if not is_scenario(item):
            self._start(scenario=item.name, feature=None, plan_section=plan_section_of(item))
        try:
            return (yield)
        finally:
            self._finish()

    def pytest_bdd_before_scenario(
        self, request: pytest.FixtureRequest, feature: object, scenario: object
    ) -> None:
        filename = getattr(feature, "filename", None)
        if filename:
            self._features.add(Path(filename))
        if self._running is None or self._running.started:
            return
        self._start(
            scenario=str(getattr(scenario, "name", request.node.name)),
            feature=str(getattr(feature, "name", "")) or None,
            plan_section=plan_section_of(request.node),
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        running = self._running
        if running is None or report.nodeid != running.nodeid:
            return
        running.duration += report.duration
        if report.failed:
            running.outcomes.append("failed" if report.when == "call" else "error")
            running.message = running.message or _failure_message(report)
        elif report.skipped:
            running.outcomes.append("skipped")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if is_worker(self.config):
            self.recorder.close()
            return
        self._finishing = True
        self._attach_ci_results()
        self.recorder.record(
            RunFinished(
                run_id=self.run_id,
                exit_status=int(session.exitstatus),
                scenarios=self._scenarios_total(session),
                failed=session.testsfailed,
            )
        )
        self.recorder.close()
        try:
            key = load_signing_key(self.settings.signing_key)
            bundle = publish(
                self.paths.chain,
                self.paths.bundle,
                self.catalog,
                key,
                release=self.settings.release,
            )
            write_attestations(
                bundle,
                self.paths.bundle,
                key,
                features=feature_digests(self._features, self.config.rootpath),
                version=_version("pytest-mc"),
            )
        except McError as exc:
            _report(self.config, f"evidence bundle not written: {exc}")
            session.exitstatus = exc.exit_code
            return
        self.config.stash[SIGNED_WITH_KEY] = key.public_raw
        self.config.hook.pytest_mc_bundle_written(
            config=self.config, path=self.paths.bundle, bundle=bundle
        )
        rehearsal = " (REHEARSAL: cannot satisfy a GA DoD item)" if bundle.rehearsal else ""
        if bundle.draft_catalog:
            rehearsal += f" (DRAFT CATALOG {bundle.catalog.version}: cannot satisfy a DoD item)"
        ephemeral = "; signed with an EPHEMERAL key" if bundle.signing.ephemeral else ""
        _report(self.config, f"evidence bundle: {self.paths.bundle}{rehearsal}{ephemeral}")
        overdue = review_warning(self.catalog, date.today())
        if overdue is not None:
            _report(self.config, f"warning: {overdue}")

    # -- internals ---------------------------------------------------------------------------

    def _attach_ci_results(self) -> None:
        """JUnit XML and Cucumber JSON that pytest wrote for this run (their writers finish
        before this trylast hook), digested into the bundle. The file left for CI is
        rewritten redacted, as the stored copy is."""
        for option in ("xmlpath", "cucumber_json_path"):
            value = getattr(self.config.option, option, None)
            path = Path(value) if value else None
            if path is None or not path.is_file():
                continue
            artifact = self.recorder.attach(path, name=path.name, kind="report")
            stored = self.paths.out_dir / artifact.path
            if stored.read_bytes() != path.read_bytes():
                path.write_bytes(stored.read_bytes())

    def _start(self, *, scenario: str, feature: str | None, plan_section: str | None) -> None:
        running = self._running
        if running is None:
            return
        running.started = True
        self.recorder.record(
            ScenarioStarted(
                nodeid=running.nodeid,
                feature=feature,
                scenario=scenario,
                tenant=running.tenant,
                plan_section=plan_section,
            )
        )

    def _finish(self) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        if not running.started:
            self._running = running
            self._start(
                scenario=running.nodeid.rpartition("::")[2], feature=None, plan_section=None
            )
            self._running = None
        outcome: Outcome = "passed"
        for worst in _OUTCOME_ORDER:
            if worst in running.outcomes:
                outcome = worst
                break
        self._scenarios += 1
        self._failed += outcome in ("error", "failed")
        self.recorder.record(
            ScenarioFinished(
                nodeid=running.nodeid,
                tenant=running.tenant,
                outcome=outcome,
                duration_seconds=running.duration,
                message=running.message,
            )
        )
        self.config.hook.pytest_mc_scenario_evidence_complete(
            config=self.config, nodeid=running.nodeid, tenant=running.tenant, outcome=outcome
        )

    def _announce(self, record: ChainRecord) -> None:
        body = record.body
        if isinstance(body, Measurement):
            self.config.hook.pytest_mc_measurement_recorded(
                config=self.config, record=record, measurement=body
            )
        elif isinstance(body, Artifact) and not self._finishing:
            self.config.hook.pytest_mc_artifact_recorded(
                config=self.config,
                record=record,
                artifact=body,
                path=self.paths.out_dir / body.path,
            )
        elif isinstance(body, TripwireObservation):
            self.config.hook.pytest_mc_tripwire_observed(
                config=self.config, record=record, observation=body
            )

    def _scenarios_total(self, session: pytest.Session) -> int:
        return max(self._scenarios, session.testscollected)

    @property
    def running_nodeid(self) -> str | None:
        return self._running.nodeid if self._running else None


def new_run_id() -> str:
    return uuid.uuid4().hex


def _failure_message(report: pytest.TestReport) -> str:
    """The exception's own message ("UnknownQiError: unknown QI id 'x' ..."), not the last
    line of the long report, which is only the crash location ("catalog.py:150: Error")."""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None)
    if isinstance(message, str) and message.strip():
        lines = [line for line in message.strip().splitlines() if line.strip()]
        return lines[0][:500]
    lines = [line for line in report.longreprtext.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def _report(config: pytest.Config, line: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
    else:
        print(line, file=sys.stderr)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def _tool_versions() -> dict[str, str]:
    tools = {name: _version(name) for name in ("pytest", "pytest-bdd", "pydantic", "jsonschema")}
    tools["python"] = platform.python_version()
    return tools
