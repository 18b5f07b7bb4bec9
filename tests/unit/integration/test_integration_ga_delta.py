"""The GA delta report from a published bundle: fleets, values, deltas, tripwires, risks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest
from integration_helpers import (
    GA_BEFORE,
    RELEASE,
    publish_expansion,
    record_expansion,
    trusting_the_signer_of,
)

from pytest_mc.errors import BundleError, InputError
from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import RunStarted, ScenarioFinished, ScenarioStarted, TargetInfo
from pytest_mc.evidence.signing import TrustedKeys, load_signing_key
from pytest_mc.integration.ga_delta import compute_ga_delta, ga_delta_from_file, write_ga_delta
from pytest_mc.integration.ga_delta_models import NOTES_FILE, REPORT_FILE, GaDeltaReport, QiDelta
from pytest_mc.integration.output import sha256_of
from pytest_mc.integration.release_notes import release_notes
from pytest_mc.policy.catalog import QiCatalog, catalog_reference
from pytest_mc.policy.verdict import Verdict, upper_bound
from pytest_mc.schemas import schema_path

BEFORE_REVIEW = date(2025, 10, 1)


def report_of(bundle: Path, catalog: QiCatalog, **kwargs: object) -> GaDeltaReport:
    return compute_ga_delta(
        read_bundle(bundle),
        catalog,
        bundle_path=bundle,
        bundle_sha256=sha256_of(bundle),
        ga_before=GA_BEFORE,
        verified=False,
        today=kwargs.pop("today", BEFORE_REVIEW),  # type: ignore[arg-type]
    )


def qi(report: GaDeltaReport, qi_id: str) -> QiDelta:
    return next(q for q in report.qis if q.qi_id == qi_id)


def test_fleets_before_and_after(published_bundle: Path, catalog: QiCatalog) -> None:
    report = report_of(published_bundle, catalog)
    assert report.ga_before == GA_BEFORE
    # TENANT_004's soak passed; TENANT_005's latest soak measurement failed.
    assert report.ga_after == (*GA_BEFORE, "TENANT_004")
    assert report.added == ("TENANT_004",)
    by_tenant = {t.tenant: t for t in report.tenants}
    assert by_tenant["TENANT_004"].ga_after
    assert not by_tenant["TENANT_004"].ga_before
    assert "stage_ga_soak passed" in by_tenant["TENANT_004"].ga_evidence
    assert by_tenant["TENANT_004"].gates_green is True
    assert "added_to_ga" in by_tenant["TENANT_004"].flags
    assert "tripwire_fired:tripwire_conflict_rate" in by_tenant["TENANT_004"].flags
    assert not by_tenant["TENANT_005"].ga_after
    assert by_tenant["TENANT_005"].gates_green is False
    assert by_tenant["TENANT_005"].scenarios == {"failed": 1}
    assert by_tenant["TENANT_002"].flags == ("no_gate_measurements",)


def test_threshold_qi_uses_the_latest_value_and_the_worst_tenant(
    published_bundle: Path, catalog: QiCatalog
) -> None:
    lag = qi(report_of(published_bundle, catalog), "replication_lag")
    assert (lag.before.method, lag.before.value) == ("worst", 20.0)
    assert lag.before.missing == ("TENANT_002", "TENANT_003")
    # all measured values pass, but two tenants of the fleet were never measured
    assert lag.before.verdict == Verdict.INCONCLUSIVE
    assert "not measured: TENANT_002, TENANT_003" in lag.before.reason
    # TENANT_004's latest lag is 30s (its 75s bake value is superseded)
    assert lag.after.value == 30.0
    assert lag.delta == pytest.approx(10.0)
    values = {v.tenant: v for v in lag.per_tenant}
    assert set(values) == {"TENANT_001", "TENANT_004"}
    assert values["TENANT_004"].measurements == 2
    assert values["TENANT_004"].delta_vs_ga_before == pytest.approx(10.0)


def test_rate_qi_is_pooled_from_counts_and_judged_by_the_catalog(
    published_bundle: Path, catalog: QiCatalog
) -> None:
    conflicts = qi(report_of(published_bundle, catalog), "conflict_rate")
    assert conflicts.after.method == "pooled"
    assert (conflicts.after.events, conflicts.after.trials) == (1, 17_000)
    assert conflicts.after.value == pytest.approx(1 / 17_000)
    assert conflicts.delta == pytest.approx(1 / 17_000 - 1 / 10_000)
    # pooled bound passes 0.05%, yet two fleet tenants are unmeasured: inconclusive
    assert upper_bound(1, 17_000) <= 0.0005
    assert conflicts.after.verdict == Verdict.INCONCLUSIVE


def test_count_qi_is_summed(published_bundle: Path, catalog: QiCatalog) -> None:
    violations = qi(report_of(published_bundle, catalog), "privacy_violations")
    assert (violations.after.method, violations.after.value) == ("sum", 0.0)
    assert violations.delta == 0.0


def test_a_failing_tenant_fails_its_fleet(tmp_path: Path, catalog: QiCatalog) -> None:
    bundle = publish_expansion(tmp_path / "dist", catalog, time_scale=600)
    report = compute_ga_delta(
        read_bundle(bundle),
        catalog,
        bundle_path=bundle,
        bundle_sha256=sha256_of(bundle),
        ga_before=("TENANT_001", "TENANT_005"),
        verified=False,
        today=BEFORE_REVIEW,
    )
    lag = qi(report, "replication_lag")
    assert lag.before.value == 95.0
    assert lag.before.verdict == Verdict.FAIL
    assert "TENANT_005 fail" in lag.before.reason


def test_unmeasured_gates_are_listed_not_dropped(
    published_bundle: Path, catalog: QiCatalog
) -> None:
    report = report_of(published_bundle, catalog)
    rpo = qi(report, "rpo")
    assert rpo.per_tenant == ()
    assert rpo.after.verdict == Verdict.INCONCLUSIVE
    assert rpo.after.value is None
    assert rpo.delta is None
    assert any(
        r.kind == "gate_not_measured" and r.qi_id == "rpo" and r.tenant == "TENANT_004"
        for r in report.open_risks
    )
    # tripwires and stages are not compared as QI values; autonomy is not a GA indicator
    ids = {q.qi_id for q in report.qis}
    assert "stage_ga_soak" not in ids
    assert "tripwire_conflict_rate" not in ids
    assert "autonomy_success_rate" not in ids


def test_tripwires_fired_flags_and_open_risks(published_bundle: Path, catalog: QiCatalog) -> None:
    report = report_of(published_bundle, catalog, today=date(2026, 11, 26))
    assert [(t.qi_id, t.tenant, t.action_observed) for t in report.tripwires_fired] == [
        ("tripwire_conflict_rate", "TENANT_004", "rollback_to_ap")
    ]
    assert report.rehearsal is True
    assert report.time_scales == (600.0,)
    assert set(report.flags) == {"rehearsal", "ephemeral_signature", "catalog_review_overdue"}
    kinds = [r.kind for r in report.open_risks]
    for kind in (
        "rehearsal_only",
        "ephemeral_signature",
        "catalog_review_overdue",
        "tripwire_fired",
        "rollout_not_at_ga",
    ):
        assert kind in kinds, kinds
    not_ga = next(r for r in report.open_risks if r.kind == "rollout_not_at_ga")
    assert not_ga.tenant == "TENANT_005"


def test_catalog_and_bundle_are_referenced(published_bundle: Path, catalog: QiCatalog) -> None:
    report = report_of(published_bundle, catalog)
    assert (report.catalog.version, report.catalog.digest) == (catalog.version, catalog.digest)
    assert report.bundle.sha256 == sha256_of(published_bundle)
    bundle = read_bundle(published_bundle)
    assert report.bundle.chains[0].hash == bundle.chains[0].head.hash
    assert report.bundle.signing_ephemeral is True


def test_real_time_evidence_is_not_a_rehearsal(tmp_path: Path, catalog: QiCatalog) -> None:
    bundle = publish_expansion(tmp_path / "dist", catalog, time_scale=1)
    report = report_of(bundle, catalog)
    assert report.rehearsal is False
    assert "rehearsal" not in report.flags
    assert "rehearsal_only" not in {r.kind for r in report.open_risks}


def test_a_bundle_of_another_catalog_is_refused(published_bundle: Path, catalog: QiCatalog) -> None:
    other = catalog.model_copy(update={"digest": "sha256:" + "1" * 64})
    with pytest.raises(BundleError, match="pass the catalog it references with --catalog"):
        report_of(published_bundle, other)


def test_no_ga_before_tenant_is_an_input_error(published_bundle: Path, catalog: QiCatalog) -> None:
    with pytest.raises(InputError, match="--ga-before"):
        compute_ga_delta(
            read_bundle(published_bundle),
            catalog,
            bundle_path=published_bundle,
            bundle_sha256=sha256_of(published_bundle),
            ga_before=(),
            verified=False,
        )


def test_files_validate_and_notes_link_the_report(
    published_bundle: Path, catalog: QiCatalog, tmp_path: Path
) -> None:
    trusted = trusting_the_signer_of(published_bundle)
    report = ga_delta_from_file(published_bundle, catalog, ga_before=GA_BEFORE, trusted=trusted)
    assert report.bundle.verified is True
    report_path, notes_path = write_ga_delta(report, tmp_path / "out")
    assert (report_path.name, notes_path.name) == (REPORT_FILE, NOTES_FILE)
    document = json.loads(report_path.read_text())
    schema = json.loads(schema_path("ga-delta-report").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert GaDeltaReport.model_validate(document) == report
    notes = notes_path.read_text()
    assert f"]({REPORT_FILE})" in notes
    assert "**3 → 4 tenants** (added: TENANT_004)" in notes
    assert "Rehearsal evidence" in notes
    assert "| Replication lag | <= 1m | 20s | 30s | +10s | inconclusive |" in notes
    assert "tripwire_conflict_rate → rollback_to_ap" in notes
    assert report.bundle.sha256 in notes


def test_notes_link_may_be_any_relative_path(published_bundle: Path, catalog: QiCatalog) -> None:
    notes = release_notes(report_of(published_bundle, catalog), link=f"evidence/{REPORT_FILE}")
    assert f"[{REPORT_FILE}](evidence/{REPORT_FILE})" in notes


def test_an_altered_bundle_is_refused_before_a_report_cites_it(
    published_bundle: Path, catalog: QiCatalog
) -> None:
    document = json.loads(published_bundle.read_text())
    document["tenants"]["TENANT_004"]["measurements"][0]["value"] = 1.0
    published_bundle.write_text(json.dumps(document))
    trusted = trusting_the_signer_of(published_bundle)
    with pytest.raises(BundleError):
        ga_delta_from_file(published_bundle, catalog, ga_before=GA_BEFORE, trusted=trusted)


def test_a_bundle_whose_signer_is_not_trusted_is_refused_before_a_report_cites_it(
    published_bundle: Path, catalog: QiCatalog
) -> None:
    with pytest.raises(BundleError, match="is not authenticated: no trusted key was given"):
        ga_delta_from_file(published_bundle, catalog, ga_before=GA_BEFORE, trusted=TrustedKeys())


@pytest.mark.parametrize("rerun", [False, True], ids=["crash last", "rerun passed"])
def test_a_scenario_counts_as_incomplete_only_when_its_latest_run_crashed_in_it(
    tmp_path: Path, catalog: QiCatalog, rerun: bool
) -> None:
    """The bundle keeps a crashed run's 'incomplete' beside the next run's result; the report
    judges a scenario by its latest run."""
    paths = EvidencePaths(tmp_path / "dist", RELEASE)
    recorder = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    record_expansion(recorder, time_scale=600)
    nodeid = "features/test_plan.py::rollout[TENANT_004]"
    for run_id in ("run-crashed", "run-next") if rerun else ("run-crashed",):
        recorder.record(
            RunStarted(
                run_id=run_id,
                release=RELEASE,
                target=TargetInfo(name="reference-staging", environment="staging", time_scale=600),
                rehearsal=True,
                catalog=catalog_reference(catalog),
                suite_version="0.3.1",
            )
        )
        recorder.record(ScenarioStarted(nodeid=nodeid, scenario="rollout", tenant="TENANT_004"))
    if rerun:
        recorder.record(
            ScenarioFinished(
                nodeid=nodeid, tenant="TENANT_004", outcome="passed", duration_seconds=1.0
            )
        )
    recorder.close()
    publish(paths.chain, paths.bundle, catalog, load_signing_key(None), release=RELEASE)

    report = report_of(paths.bundle, catalog)

    history = read_bundle(paths.bundle).tenants["TENANT_004"].scenarios
    assert [(s.run_id, s.outcome) for s in history if s.nodeid == nodeid] == [
        ("run-1", "passed"),
        ("run-crashed", "incomplete"),
        *([("run-next", "passed")] if rerun else []),
    ]
    risks = [r.detail for r in report.open_risks if r.kind == "scenario_not_passed"]
    assert ("rollout[TENANT_004] ended incomplete" in risks) == (not rerun)
