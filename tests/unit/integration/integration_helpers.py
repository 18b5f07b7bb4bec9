"""Evidence with known numbers for the §C integration tests (a module, so tests can import it).

The run is recorded through `EvidenceRecorder` and published as a session would (chain,
artifacts, signed bundle), so what the tests compute from is what a real run leaves behind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import (
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
    TargetInfo,
)
from pytest_mc.evidence.signing import TrustedKeys, load_signing_key, load_trusted_keys
from pytest_mc.policy.catalog import QiCatalog, catalog_reference
from pytest_mc.policy.verdict import Ratio

RELEASE = "v0.3.1-mc"
GA_BEFORE = ("TENANT_001", "TENANT_002", "TENANT_003")


def _scenario(recorder: EvidenceRecorder, tenant: str, name: str, outcome: str) -> str:
    nodeid = f"features/test_plan.py::{name}[{tenant}]"
    recorder.record(ScenarioStarted(nodeid=nodeid, scenario=name, tenant=tenant))
    recorder.record(
        ScenarioFinished(
            nodeid=nodeid,
            tenant=tenant,
            outcome=outcome,  # type: ignore[arg-type]
            duration_seconds=1.0,
        )
    )
    return nodeid


def record_expansion(recorder: EvidenceRecorder, *, time_scale: float) -> None:
    """TENANT_001 measured at GA; TENANT_004 rolled out to GA with a conflict tripwire on the
    way; TENANT_005's soak failed; TENANT_002/003 have no evidence at all."""
    recorder.record(
        RunStarted(
            run_id="run-1",
            release=RELEASE,
            target=TargetInfo(
                name="reference-staging", environment="staging", time_scale=time_scale
            ),
            rehearsal=time_scale != 1,
            catalog=catalog_reference(recorder.catalog),
            suite_version="0.3.1",
        )
    )
    recorder.measure("replication_lag", 20.0, tenant="TENANT_001", source="test", samples=50)
    recorder.measure(
        "conflict_rate", Ratio(events=1, trials=10_000), tenant="TENANT_001", source="test"
    )
    recorder.measure("privacy_violations", 0, tenant="TENANT_001", source="test", samples=40)
    recorder.measure("budget_utilization", 0.5, tenant="TENANT_001", source="test", samples=10)
    _scenario(recorder, "TENANT_001", "baseline", "passed")

    recorder.measure("replication_lag", 75.0, tenant="TENANT_004", source="bake", samples=50)
    recorder.measure("stage_ga_soak", 86_400, tenant="TENANT_004", source="test")
    recorder.measure("replication_lag", 30.0, tenant="TENANT_004", source="ga", samples=50)
    recorder.measure(
        "conflict_rate", Ratio(events=0, trials=7_000), tenant="TENANT_004", source="test"
    )
    recorder.measure("privacy_violations", 0, tenant="TENANT_004", source="test", samples=40)
    recorder.measure("budget_utilization", 0.6, tenant="TENANT_004", source="test", samples=10)
    seen = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    recorder.tripwire(
        "tripwire_conflict_rate",
        tenant="TENANT_004",
        condition="conflict rate 0.4% > 0.1%",
        condition_seen_at=seen,
        action_observed="rollback_to_ap",
        action_observed_at=seen + timedelta(seconds=0.05),
        deadline_seconds=120,
        time_scale=time_scale,
    )
    _scenario(recorder, "TENANT_004", "rollout", "passed")

    recorder.measure("stage_ga_soak", 3_600, tenant="TENANT_005", source="test")
    recorder.measure("replication_lag", 95.0, tenant="TENANT_005", source="test", samples=50)
    _scenario(recorder, "TENANT_005", "rollout", "failed")
    recorder.record(RunFinished(run_id="run-1", exit_status=1, scenarios=3, failed=1))


def publish_expansion(out_dir: Path, catalog: QiCatalog, *, time_scale: float) -> Path:
    paths = EvidencePaths(out_dir, RELEASE)
    recorder = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    record_expansion(recorder, time_scale=time_scale)
    recorder.close()
    key = load_signing_key(None)
    publish(paths.chain, paths.bundle, catalog, key, release=RELEASE)
    # The ephemeral key's public key, as a caller signing in-process would hand it over.
    signer_of(paths.bundle).write_bytes(key.public_pem)
    return paths.bundle


def signer_of(bundle: Path) -> Path:
    """The public key of the key `publish_expansion` signed `bundle` with."""
    return bundle.with_name("signer.pub.pem")


def trusting_the_signer_of(bundle: Path) -> TrustedKeys:
    return load_trusted_keys([signer_of(bundle)])
