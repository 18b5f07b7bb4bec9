"""`mc-verify evidence merge`: bundles of several CI jobs (one per tenant) become one bundle
without losing or duplicating a section; merging is idempotent; bundles of different QI
catalogs, diverging copies of one chain and inputs signed by a key the merging job does not
trust are refused with exit 2. Every job here signs with one CI key, which the merging job
trusts through `MC_TRUSTED_KEYS`."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest
from evidence_helpers import RELEASE, RecordedRun, RecordRun, RunCli

from pytest_mc.evidence.bundle import EvidenceBundle, read_bundle
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import RunFinished
from pytest_mc.evidence.signing import TRUST_ENV, load_signing_key
from pytest_mc.policy.catalog import QiCatalog, load_catalog


def merge(run_cli: RunCli, key: Path, output: Path, *bundles: Path) -> EvidenceBundle:
    result = run_cli("evidence", "merge", *bundles, "-o", output, "--signing-key", key)
    assert result.code == 0, result.err
    verified = run_cli("evidence", "verify", output)
    assert verified.code == 0, verified.err
    return read_bundle(output)


def views(bundle: EvidenceBundle) -> dict[str, object]:
    """Everything but when and by which key it was written."""
    return bundle.model_dump(exclude={"generated_at", "signing"})


def extend_and_republish(
    paths: EvidencePaths, catalog: QiCatalog, key: Path, *, exit_status: int
) -> None:
    """Append one more record to a published run's chain and publish it again."""
    recorder = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    recorder.record(RunFinished(run_id="late", exit_status=exit_status, scenarios=0, failed=0))
    recorder.close()
    publish(paths.chain, paths.bundle, catalog, load_signing_key(key), release=RELEASE)


def snapshot(run: RecordedRun, tmp_path: Path, name: str) -> EvidencePaths:
    """A copy of a run's whole evidence directory, as another CI job would hold it."""
    target = tmp_path / name / "dist"
    shutil.copytree(run.paths.out_dir, target)
    return EvidencePaths(target, RELEASE)


@pytest.fixture
def record_run(record_run: RecordRun, user_key: Path) -> RecordRun:
    """Each CI job signs its bundle with the CI key."""
    return functools.partial(record_run, signing_key=user_key)


@pytest.fixture(autouse=True)
def trusting_the_ci_key(user_key: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRUST_ENV, str(user_key.with_name("signing.pub.pem")))


@pytest.fixture
def two_tenants(record_run: RecordRun) -> tuple[RecordedRun, RecordedRun]:
    return record_run("TENANT_004", lag_seconds=42.0), record_run("TENANT_007", lag_seconds=75.0)


def test_one_bundle_per_tenant_merge_into_one_section_each(
    tmp_path: Path,
    run_cli: RunCli,
    two_tenants: tuple[RecordedRun, RecordedRun],
    user_key: Path,
) -> None:
    first, second = two_tenants
    sources = {run.tenant: read_bundle(run.bundle) for run in two_tenants}

    merged = merge(
        run_cli, user_key, tmp_path / "merged" / "evidence.json", first.bundle, second.bundle
    )

    assert sorted(merged.tenants) == ["TENANT_004", "TENANT_007"]
    for tenant, source in sources.items():
        assert merged.tenants[tenant] == source.tenants[tenant]
    lag = {t: s.measurements[0] for t, s in merged.tenants.items()}
    assert (lag["TENANT_004"].qi_id, lag["TENANT_004"].verdict.value) == ("replication_lag", "pass")
    assert (lag["TENANT_007"].qi_id, lag["TENANT_007"].verdict.value) == ("replication_lag", "fail")
    assert len(merged.chains) == 2
    assert sum(len(chain.records) for chain in merged.chains) == 16
    assert {run.run_id for run in merged.runs} == {"run-TENANT_004-main", "run-TENANT_007-main"}
    assert len(merged.autonomy_pilot.measurements) == 2
    p1_rows = [row for row in merged.dod if row.qi_id == "p1_incidents"]
    assert [row.tenant for row in p1_rows] == ["TENANT_004", "TENANT_007"]
    names = [a.name for section in merged.tenants.values() for a in section.artifacts]
    assert names == ["k6-summary-TENANT_004.txt", "k6-summary-TENANT_007.txt"]
    copied = sorted(p.name.partition("-")[2] for p in (tmp_path / "merged" / "artifacts").iterdir())
    assert copied == names


def test_merging_the_same_bundle_twice_changes_nothing(
    tmp_path: Path,
    run_cli: RunCli,
    record_run: RecordRun,
    user_key: Path,
) -> None:
    run = record_run("TENANT_004")

    merged = merge(run_cli, user_key, tmp_path / "merged" / "evidence.json", run.bundle, run.bundle)

    assert views(merged) == views(read_bundle(run.bundle))


def test_merging_a_merged_bundle_again_is_idempotent(
    tmp_path: Path,
    run_cli: RunCli,
    two_tenants: tuple[RecordedRun, RecordedRun],
    user_key: Path,
) -> None:
    first, second = two_tenants
    once = merge(
        run_cli, user_key, tmp_path / "once" / "evidence.json", first.bundle, second.bundle
    )

    again = merge(
        run_cli,
        user_key,
        tmp_path / "again" / "evidence.json",
        tmp_path / "once" / "evidence.json",
        second.bundle,
        first.bundle,
    )
    itself = merge(
        run_cli,
        user_key,
        tmp_path / "itself" / "evidence.json",
        tmp_path / "once" / "evidence.json",
        tmp_path / "once" / "evidence.json",
    )

    assert views(again) == views(once)
    assert views(itself) == views(once)


def test_a_chain_and_its_own_prefix_merge_to_the_longer_chain(
    tmp_path: Path,
    run_cli: RunCli,
    record_run: RecordRun,
    catalog: QiCatalog,
    user_key: Path,
) -> None:
    run = record_run("TENANT_004")
    early = snapshot(run, tmp_path, "early-job")
    extend_and_republish(run.paths, catalog, user_key, exit_status=0)

    merged = merge(
        run_cli, user_key, tmp_path / "merged" / "evidence.json", early.bundle, run.bundle
    )

    assert len(merged.chains) == 1
    assert merged.chains[0].head == read_bundle(run.bundle).chains[0].head
    assert views(merged) == views(read_bundle(run.bundle))


def test_diverging_copies_of_one_chain_are_refused(
    tmp_path: Path,
    run_cli: RunCli,
    record_run: RecordRun,
    catalog: QiCatalog,
    user_key: Path,
) -> None:
    run = record_run("TENANT_004")
    fork = snapshot(run, tmp_path, "forked-job")
    extend_and_republish(run.paths, catalog, user_key, exit_status=0)
    extend_and_republish(fork, catalog, user_key, exit_status=1)

    result = run_cli("evidence", "merge", run.bundle, fork.bundle, "-o", tmp_path / "m.json")

    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "error: chain " in result.err
    assert "diverges from the same chain in" in result.err
    assert not (tmp_path / "m.json").exists()


def test_bundles_of_different_catalogs_are_refused_naming_each(
    tmp_path: Path, run_cli: RunCli, record_run: RecordRun, other_catalog_path: Path
) -> None:
    ours = record_run("TENANT_004")
    theirs = record_run("TENANT_007", with_catalog=load_catalog(other_catalog_path))

    for catalog_args in ((), ("--catalog", str(other_catalog_path))):
        result = run_cli(
            "evidence",
            "merge",
            ours.bundle,
            theirs.bundle,
            "-o",
            tmp_path / "m.json",
            *catalog_args,
        )

        assert result.code == 2
        assert result.err.count("\n") == 1, result.err
        assert "refusing to merge bundles made against different QI catalogs" in result.err
        assert "evidence-v0.3.1-mc.json: 1.0.0 sha256:" in result.err
        assert "evidence-v0.3.1-mc.json: 1.1.0 sha256:" in result.err
        assert not (tmp_path / "m.json").exists()


def test_a_tampered_input_is_refused_with_the_verify_message(
    tmp_path: Path, run_cli: RunCli, two_tenants: tuple[RecordedRun, RecordedRun]
) -> None:
    first, second = two_tenants
    (artifact,) = second.paths.artifacts.iterdir()
    artifact.write_bytes(b"edited")

    result = run_cli("evidence", "merge", first.bundle, second.bundle, "-o", tmp_path / "m.json")

    assert result.code == 2
    assert "error: artifact 'k6-summary-TENANT_007.txt' (record 5) was altered" in result.err
    assert not (tmp_path / "m.json").exists()


def test_an_input_signed_by_a_key_the_merging_job_does_not_trust_is_refused(
    tmp_path: Path, run_cli: RunCli, record_run: RecordRun
) -> None:
    ours = record_run("TENANT_004")
    forged = record_run("TENANT_007", signing_key=None)  # any fresh key: here an ephemeral one

    result = run_cli("evidence", "merge", ours.bundle, forged.bundle, "-o", tmp_path / "m.json")

    assert result.code == 2
    assert result.err.count("\n") == 1, result.err
    assert "is not a trusted key (trusted: ed25519:" in result.err
    assert not (tmp_path / "m.json").exists()
