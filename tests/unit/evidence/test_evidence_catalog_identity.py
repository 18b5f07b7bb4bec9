"""A bundle's catalog reference is checked against the frozen catalog of its version, and
evidence judged against a DRAFT catalog is labelled draft catalog and satisfies no DoD item.

The loosened catalog is built in memory, as the loader accepted it before catalog identity
was checked: a DRAFT copy of 1.0.0 with the replication-lag threshold at 90 s whose `digest`
field still holds the published digest.
"""

from __future__ import annotations

from pathlib import Path

from evidence_helpers import RELEASE, RecordRun, RunCli

from pytest_mc.evidence.bundle import DodRow, read_bundle
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import RunFinished, RunStarted, TargetInfo
from pytest_mc.evidence.signing import load_signing_key
from pytest_mc.policy.catalog import (
    PUBLISHED_DIGESTS,
    QiCatalog,
    catalog_digest,
    catalog_reference,
    load_catalog,
)


def loosened(catalog: QiCatalog, *, status: str) -> QiCatalog:
    qis = tuple(
        qi.model_copy(update={"target": 90.0}) if qi.id == "replication_lag" else qi
        for qi in catalog.qis
    )
    return catalog.model_copy(update={"status": status, "qis": qis})


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_bundle_made_against_a_loosened_draft_copy_of_1_0_0_is_refused_by_verify(
    record_run: RecordRun, run_cli: RunCli, catalog: QiCatalog
) -> None:
    draft = loosened(catalog, status="DRAFT")
    assert draft.digest == PUBLISHED_DIGESTS["1.0.0"]
    run = record_run("TENANT_004", lag_seconds=75.0, with_catalog=draft)

    recorded = read_bundle(run.bundle).catalog
    assert (recorded.version, recorded.status) == ("1.0.0", "DRAFT")
    assert recorded.digest == catalog_digest(draft) != PUBLISHED_DIGESTS["1.0.0"]

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert one_line(result.err) == (
        f"error: evidence-{RELEASE}.json cites QI catalog 1.0.0 DRAFT "
        f"{recorded.digest[:19]}…, but 1.0.0 was published FROZEN sha256:9be1e9ec1eb4…: the "
        "evidence was judged against an altered catalog; make it again against the published "
        "catalog"
    )


def test_a_bundle_citing_1_0_0_frozen_with_another_digest_is_refused_by_verify(
    record_run: RecordRun, run_cli: RunCli, catalog: QiCatalog
) -> None:
    refrozen = loosened(catalog, status="FROZEN")
    refrozen = refrozen.model_copy(update={"digest": catalog_digest(refrozen)})
    run = record_run("TENANT_004", with_catalog=refrozen)

    result = run_cli("evidence", "verify", run.bundle)

    assert result.code == 2
    assert one_line(result.err).startswith(
        f"error: evidence-{RELEASE}.json cites QI catalog 1.0.0 FROZEN "
        f"{catalog_digest(refrozen)[:19]}…, but 1.0.0 was published FROZEN"
    )


def test_a_draft_catalog_run_verifies_with_a_warning_and_is_labelled_in_the_bundle(
    record_run: RecordRun, run_cli: RunCli, other_catalog_path: Path
) -> None:
    run = record_run("TENANT_004", with_catalog=load_catalog(other_catalog_path))

    result = run_cli(
        "evidence", "verify", run.bundle, "--catalog", other_catalog_path,
        "--public-key", run.public_key,
    )  # fmt: skip

    assert result.code == 0, result.err
    assert (
        "warning: draft catalog 1.1.0 evidence (not a published catalog): it cannot satisfy "
        "a DoD item"
    ) in result.err
    bundle = read_bundle(run.bundle)
    assert bundle.draft_catalog
    assert all(row.draft_catalog and not row.satisfied for row in bundle.dod)


def record_time_scale_1(directory: Path, catalog: QiCatalog) -> Path:
    """A run at time scale 1 (not a rehearsal) with one passing DoD measurement."""
    paths = EvidencePaths(directory, RELEASE)
    recorder = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    recorder.record(
        RunStarted(
            run_id="run-1",
            release=RELEASE,
            target=TargetInfo(name="staging", environment="staging", time_scale=1),
            rehearsal=False,
            catalog=catalog_reference(catalog),
            suite_version="0.3.1",
        )
    )
    recorder.measure("p1_incidents", 0, tenant="TENANT_001", source="incident log", samples=30)
    recorder.record(RunFinished(run_id="run-1", exit_status=0, scenarios=1, failed=0))
    recorder.close()
    publish(paths.chain, paths.bundle, catalog, load_signing_key(None), release=RELEASE)
    return paths.bundle


def test_at_time_scale_1_a_passing_dod_row_is_satisfied_only_on_the_published_catalog(
    tmp_path: Path, catalog: QiCatalog, other_catalog_path: Path
) -> None:
    published = read_bundle(record_time_scale_1(tmp_path / "published", catalog))
    draft = read_bundle(record_time_scale_1(tmp_path / "draft", load_catalog(other_catalog_path)))

    def p1(rows: tuple[DodRow, ...]) -> DodRow:
        return next(row for row in rows if row.qi_id == "p1_incidents")

    row = p1(published.dod)
    assert (row.verdict.value, row.rehearsal, row.draft_catalog, row.satisfied) == (
        "pass", False, False, True,
    )  # fmt: skip
    row = p1(draft.dod)
    assert (row.verdict.value, row.rehearsal, row.draft_catalog, row.satisfied) == (
        "pass", False, True, False,
    )  # fmt: skip
    assert row.reason.endswith("(draft catalog 1.1.0: cannot satisfy a DoD item)")
    assert not published.draft_catalog
    assert draft.draft_catalog
