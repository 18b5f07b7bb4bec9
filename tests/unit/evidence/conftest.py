"""Helpers for the evidence tests: a recorded run per tenant, published as a signed bundle,
and `mc-verify` called in-process with its exit code and output. No test inherits a trust
list from the environment: `MC_TRUSTED_KEYS` is unset unless a test sets it.

Everything is written under tmp_path. Runs are recorded through `EvidenceRecorder` (the
same boundary the plugin uses), so the bundles are what a real session would publish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from evidence_helpers import RELEASE, CliResult, RecordedRun, RecordRun, RunCli

from pytest_mc.cli.main import main
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import (
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
    TargetInfo,
)
from pytest_mc.evidence.redaction import Redactor
from pytest_mc.evidence.signing import TRUST_ENV, generate_signing_key, load_signing_key
from pytest_mc.policy.catalog import (
    DEFAULT_CATALOG_PATH,
    QiCatalog,
    catalog_reference,
    load_catalog,
)
from pytest_mc.policy.verdict import Verdict

ARTIFACT_TEXT = b"k6 summary: p95=180ms checks=100%\n"


@pytest.fixture(scope="session")
def catalog() -> QiCatalog:
    return load_catalog()


@pytest.fixture(autouse=True)
def no_ambient_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TRUST_ENV, raising=False)


@pytest.fixture
def user_key(tmp_path: Path) -> Path:
    """A user's signing key made with `evidence keygen`'s function; its public key is beside
    it as `signing.pub.pem`."""
    key = tmp_path / "keys" / "signing.pem"
    generate_signing_key(key)
    return key


def _catalog_with_lag_threshold(path: Path, threshold: float, version: str | None) -> Path:
    data = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text(encoding="utf-8"))
    for qi in data["qis"]:
        if qi["id"] == "replication_lag":
            qi["target"] = threshold
    if version is not None:
        data["version"] = version
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def edited_catalog(tmp_path: Path) -> Path:
    """The shipped catalog with one threshold edited under its frozen version (tampered)."""
    return _catalog_with_lag_threshold(tmp_path / "edited-qi.yaml", 90.0, None)


@pytest.fixture
def other_catalog_path(tmp_path: Path) -> Path:
    """A different catalog (a DRAFT under a new version of its own): valid, other digest."""
    path = _catalog_with_lag_threshold(tmp_path / "qi-1.1.0.yaml", 90.0, "1.1.0")
    text = path.read_text(encoding="utf-8").replace("status: FROZEN", "status: DRAFT")
    path.write_text(text, encoding="utf-8")
    return path


def record_scenario(
    recorder: EvidenceRecorder, *, tenant: str, nodeid: str, lag_seconds: float
) -> None:
    """One scenario of a tenant: a judged measurement, a DoD item, a tripwire, an artifact."""
    recorder.record(ScenarioStarted(nodeid=nodeid, scenario="lag stays in bound", tenant=tenant))
    judgement = recorder.measure(
        "replication_lag", lag_seconds, tenant=tenant, source="scrape", nodeid=nodeid
    )
    assert judgement.verdict in (Verdict.PASS, Verdict.FAIL)
    recorder.measure("p1_incidents", 0, tenant=tenant, source="incident log", nodeid=nodeid)
    seen = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
    recorder.tripwire(
        "tripwire_replication_lag",
        tenant=tenant,
        condition="lag > 60s for 10m",
        condition_seen_at=seen,
        action_observed="bias_glb",
        action_observed_at=seen + timedelta(seconds=0.1),
        deadline_seconds=120,
        time_scale=600,
        nodeid=nodeid,
    )
    recorder.attach(
        ARTIFACT_TEXT, name=f"k6-summary-{tenant}.txt", kind="k6-summary", tenant=tenant
    )
    recorder.record(
        ScenarioFinished(nodeid=nodeid, tenant=tenant, outcome="passed", duration_seconds=0.5)
    )


@pytest.fixture
def record_run(tmp_path: Path, catalog: QiCatalog) -> RecordRun:
    """Record and publish one run for `tenant` (its own CI job: its own out dir and chain)."""

    def make(
        tenant: str = "TENANT_004",
        *,
        job: str | None = None,
        lag_seconds: float = 42.0,
        with_catalog: QiCatalog | None = None,
        secrets: tuple[str, ...] = (),
        extra: Callable[[EvidenceRecorder], None] | None = None,
        signing_key: Path | None = None,
    ) -> RecordedRun:
        used = with_catalog or catalog
        paths = EvidencePaths(tmp_path / (job or f"job-{tenant}") / "dist", RELEASE)
        recorder = EvidenceRecorder(
            paths, used, writer="controller", redactor=Redactor(secrets), durable=False
        )
        run_id = f"run-{tenant}-{job or 'main'}"
        recorder.record(
            RunStarted(
                run_id=run_id,
                release=RELEASE,
                target=TargetInfo(name="test-staging", environment="staging", time_scale=600),
                rehearsal=True,
                catalog=catalog_reference(used),
                suite_version="0.3.1",
            )
        )
        record_scenario(
            recorder, tenant=tenant, nodeid=f"features/x.py::{tenant}", lag_seconds=lag_seconds
        )
        if extra is not None:
            extra(recorder)
        recorder.record(RunFinished(run_id=run_id, exit_status=0, scenarios=1, failed=0))
        recorder.close()
        key = load_signing_key(signing_key)
        publish(paths.chain, paths.bundle, used, key, release=RELEASE)
        public_key = paths.out_dir.parent / "signer.pub.pem"
        public_key.write_bytes(key.public_pem)
        return RecordedRun(tenant=tenant, paths=paths, public_key=public_key)

    return make


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Iterator[RunCli]:
    """`mc-verify ARGS...` in-process: exit code, stdout and stderr."""

    def call(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return CliResult(code=code, out=captured.out, err=captured.err)

    return call
