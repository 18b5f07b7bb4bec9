"""DoD items judged from model-built bundles: every item passes on complete evidence at time
scale 1, and each kind of gap (missing, failing, rehearsal, ephemeral key) is reported as
what it is, never as a pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from dod_helpers import (
    CLEAN_TRIALS,
    RELEASE,
    Plan,
    build_bundle,
    clean_pilot,
    draft_catalog,
    record_plan,
    verified_evidence,
)
from rich.console import Console

from pytest_mc.dod.evidence import from_session_chain
from pytest_mc.dod.items import DodReport, evaluate_dod
from pytest_mc.evidence.bundle import read_bundle
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import Measurement
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Ratio, Verdict
from pytest_mc.reporting.dod_table import print_dod
from pytest_mc.reporting.summary import print_summary

BundleOf = Callable[[Plan], Path]


def rendered(draw: Callable[[Console], None], *, width: int = 240) -> list[str]:
    """What a rich printer writes, as plain lines."""
    console = Console(record=True, width=width, color_system=None)
    draw(console)
    return console.export_text().splitlines()


def cells(lines: list[str]) -> list[list[str]]:
    """The cells of each table row among `lines` (rows drawn with │)."""
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in lines if "│" in line]


ITEM_IDS = [
    "aa_ga:TENANT_004",
    "green_streak:TENANT_004",
    "aa_ga:TENANT_005",
    "green_streak:TENANT_005",
    "p1_incidents",
    "autonomy_success_rate",
    "compensation_rate",
    "sim_false_negative_rate",
    "evidence_bundle",
    "ga_delta_report",
    "qi_catalog",
]


def report_for(bundle_of: BundleOf, catalog: QiCatalog, plan: Plan) -> DodReport:
    evidence, _ = verified_evidence(bundle_of(plan), catalog)
    return evaluate_dod(evidence, catalog)


def test_complete_evidence_at_time_scale_1_meets_every_item(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    report = report_for(bundle_of, catalog, Plan())

    assert [item.id for item in report.items] == ITEM_IDS
    assert [item.dod_line for item in report.items] == [1] * 4 + [2] * 4 + [3] * 3
    not_passing = {i.id: i.reason for i in report.items if i.verdict != Verdict.PASS}
    assert not_passing == {}
    assert report.met
    assert not report.rehearsal
    assert report.summary == "DoD met: all 11 items pass on evidence at time scale 1"
    success = report.item("autonomy_success_rate")
    assert (success.events, success.trials) == (CLEAN_TRIALS, CLEAN_TRIALS)
    assert success.bound is not None
    assert success.bound >= 0.999
    assert success.source.startswith("tenants.TENANT_001.measurements[autonomy_success_rate]")
    streak = report.item("green_streak:TENANT_004")
    assert (streak.value, streak.source) == (14.0, "tenants.TENANT_004.days")
    assert report.item("qi_catalog").value == catalog.digest


def test_rehearsal_evidence_is_judged_but_never_met(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    report = report_for(bundle_of, catalog, Plan(time_scale=600))

    assert all(item.verdict == Verdict.PASS for item in report.items)
    assert all(item.rehearsal and not item.met for item in report.items)
    assert not report.met
    assert report.summary.startswith(
        "DoD not met: rehearsal evidence (time scale 600) cannot satisfy a GA DoD item"
    )


def test_a_streak_of_compressed_days_says_so_beside_its_count(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    plan = Plan(time_scale=600, day_plan_seconds=3_600, streak_measured=True)
    bundle_path = bundle_of(plan)
    evidence, _ = verified_evidence(bundle_path, catalog)
    report = evaluate_dod(evidence, catalog)

    item = report.item("green_streak:TENANT_004")
    assert (item.verdict, item.shown) == (Verdict.PASS, "14 days of 1h plan time (14 judged)")
    assert not item.met
    row = next(
        row
        for row in read_bundle(bundle_path).dod
        if (row.qi_id, row.tenant) == ("expansion_green_streak", "TENANT_004")
    )
    assert (row.value, row.unit, row.note) == (14.0, "days", "14 days of 1h plan time")
    assert not row.satisfied
    table = cells(rendered(lambda console: print_dod(report, console)))
    streak_row = next(row for row in table if row[0] == "TENANT_004 14 consecutive days green")
    assert streak_row[1] == "14 days of 1h plan time (14 judged)"
    summary = cells(rendered(lambda console: print_summary(read_bundle(bundle_path), console)))
    assert ["expansion_green_streak", "TENANT_004", "14 days of 1h plan time"] in [
        row[:3] for row in summary
    ]


def test_a_streak_of_24h_days_has_no_note(bundle_of: BundleOf, catalog: QiCatalog) -> None:
    bundle_path = bundle_of(Plan(streak_measured=True))
    evidence, _ = verified_evidence(bundle_path, catalog)

    item = evaluate_dod(evidence, catalog).item("green_streak:TENANT_004")

    assert item.shown == "14 days (14 judged)"
    assert item.met
    rows = [row for row in read_bundle(bundle_path).dod if row.qi_id == "expansion_green_streak"]
    assert [(row.note, row.satisfied) for row in rows] == [(None, True), (None, True)]


def test_evidence_judged_against_a_draft_catalog_is_judged_but_never_met(
    tmp_path: Path, catalog: QiCatalog
) -> None:
    draft = draft_catalog(tmp_path)
    bundle_path = build_bundle(tmp_path / "dist", draft, Plan())
    evidence, verification = verified_evidence(bundle_path, draft)

    report = evaluate_dod(evidence, catalog)

    assert report.draft_catalog
    assert not report.rehearsal
    assert not report.met
    assert all(item.draft_catalog and not item.met for item in report.items)
    passing = {item.id for item in report.items if item.verdict == Verdict.PASS}
    assert passing == set(ITEM_IDS) - {"qi_catalog"}
    assert report.summary == (
        "DoD not met: evidence judged against draft catalog 1.1.0 (not a published version) "
        "cannot satisfy a DoD item (10 pass, 1 fail, 0 inconclusive of 11 items)"
    )
    table = rendered(lambda console: print_dod(report, console))
    assert table[0].startswith("Definition of Done DRAFT CATALOG — ")
    assert f"catalog 1.1.0 DRAFT (draft catalog) {draft.digest[:19]}…" in table[0]
    assert table[-1] == report.summary
    summary = rendered(lambda console: print_summary(read_bundle(bundle_path), console))
    assert summary[0].startswith(f"Evidence {RELEASE} DRAFT CATALOG — catalog 1.1.0 ")
    assert any("draft catalog 1.1.0 evidence" in warning for warning in verification.warnings)


def test_a_rehearsal_against_a_draft_catalog_names_both(tmp_path: Path, catalog: QiCatalog) -> None:
    draft = draft_catalog(tmp_path)
    evidence, _ = verified_evidence(
        build_bundle(tmp_path / "dist", draft, Plan(time_scale=600)), draft
    )

    report = evaluate_dod(evidence, catalog)

    assert report.summary.startswith(
        "DoD not met: rehearsal evidence (time scale 600) and evidence judged against draft "
        "catalog 1.1.0 (not a published version) cannot satisfy a GA DoD item"
    )


def test_missing_pilot_data_is_inconclusive_never_a_pass(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    report = report_for(bundle_of, catalog, Plan(pilot={}))

    for qi_id in ("p1_incidents", "autonomy_success_rate", "compensation_rate"):
        item = report.item(qi_id)
        assert (item.verdict, item.met, item.shown) == (Verdict.INCONCLUSIVE, False, "not measured")
        assert "no data" in item.reason
    assert not report.met
    assert report.summary == "DoD not met: 4 of 11 items unmet (7 pass, 0 fail, 4 inconclusive)"


def test_a_short_pilot_is_inconclusive_with_the_trials_it_still_needs(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    pilot = clean_pilot() | {"autonomy_success_rate": Ratio(events=500, trials=500)}
    item = report_for(bundle_of, catalog, Plan(pilot=pilot)).item("autonomy_success_rate")

    assert item.verdict == Verdict.INCONCLUSIVE
    assert item.more_trials_needed == 2_495
    assert "2,495 more clean trials would settle it" in item.reason


def test_one_p1_fails_the_pilot_item(bundle_of: BundleOf, catalog: QiCatalog) -> None:
    pilot = clean_pilot() | {"p1_incidents": 1}
    item = report_for(bundle_of, catalog, Plan(pilot=pilot)).item("p1_incidents")

    assert (item.verdict, item.value, item.threshold) == (Verdict.FAIL, 1.0, "== 0")


def test_a_gate_failed_after_the_ga_soak_fails_ga(bundle_of: BundleOf, catalog: QiCatalog) -> None:
    item = report_for(bundle_of, catalog, Plan(lag_at_ga=75.0)).item("aa_ga:TENANT_005")

    assert item.verdict == Verdict.FAIL
    assert "gates over ga: replication_lag fail" in item.reason
    assert item.shown == "soak 86400 s, gates 3/4 pass, scenario passed"


def test_a_failed_rollout_scenario_fails_ga(bundle_of: BundleOf, catalog: QiCatalog) -> None:
    item = report_for(bundle_of, catalog, Plan(rollout_outcome="failed")).item("aa_ga:TENANT_004")

    assert item.verdict == Verdict.FAIL
    assert item.reason.endswith("rollout scenario failed")


def test_a_tenant_that_never_reached_ga_is_inconclusive(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    report = report_for(bundle_of, catalog, Plan(ga_tenants=("TENANT_004",)))

    ga = report.item("aa_ga:TENANT_005")
    assert (ga.verdict, ga.shown) == (Verdict.INCONCLUSIVE, "GA never held")
    streak = report.item("green_streak:TENANT_005")
    assert streak.verdict == Verdict.INCONCLUSIVE
    assert "no day_verdict records of TENANT_005" in streak.reason


@pytest.mark.parametrize(
    ("plan", "current", "reset"),
    [
        (Plan(green_days=13), 13, None),
        (Plan(red_day_at=10), 3, "day 10 of bake bake-TENANT_004 was not green"),
    ],
)
def test_fewer_than_14_green_days_fail_the_streak(
    bundle_of: BundleOf, catalog: QiCatalog, plan: Plan, current: int, reset: str | None
) -> None:
    item = report_for(bundle_of, catalog, plan).item("green_streak:TENANT_004")

    assert (item.verdict, item.value) == (Verdict.FAIL, float(current))
    assert (reset in item.reason) if reset else ("last reset" not in item.reason)


def test_an_ephemeral_signature_does_not_prove_who_signed(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    item = report_for(bundle_of, catalog, Plan(user_key=False)).item("evidence_bundle")

    assert item.verdict == Verdict.INCONCLUSIVE
    assert "ephemeral key proves integrity, not who signed" in item.reason


def test_no_ga_delta_report_is_not_appended(bundle_of: BundleOf, catalog: QiCatalog) -> None:
    item = report_for(bundle_of, catalog, Plan(ga_delta_report=False)).item("ga_delta_report")

    assert (item.verdict, item.shown) == (Verdict.INCONCLUSIVE, "not appended")


def test_a_session_chain_is_judged_with_its_signature_pending(
    tmp_path: Path, catalog: QiCatalog
) -> None:
    paths = EvidencePaths(tmp_path / "dist", RELEASE)
    recorder = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    record_plan(recorder, catalog, Plan())
    recorder.close()
    report_file = next((tmp_path / "dist" / "artifacts").glob("*ga-delta-report*"))
    report_file.write_bytes(b"{}\n")  # altered after it was recorded
    evidence = from_session_chain(
        paths.chain,
        catalog,
        out_dir=paths.out_dir,
        release=RELEASE,
        signing_key_path=None,
    )

    report = evaluate_dod(evidence, catalog)

    assert report.item("ga_delta_report").verdict == Verdict.FAIL
    assert "the report was altered" in report.item("ga_delta_report").reason
    bundle_item = report.item("evidence_bundle")
    assert "signature pending" in bundle_item.shown
    assert bundle_item.verdict == Verdict.INCONCLUSIVE  # ephemeral key
    assert report.item("aa_ga:TENANT_004").verdict == Verdict.PASS


def test_gates_not_judged_after_the_ga_soak_leave_ga_inconclusive(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    item = report_for(bundle_of, catalog, Plan(gates_after_soak=False)).item("aa_ga:TENANT_004")

    assert item.verdict == Verdict.INCONCLUSIVE
    assert (
        "gates not judged after the soak: replication_lag, conflict_rate, privacy_violations, "
        "budget_utilization" in item.reason
    )


def test_a_recorded_verdict_is_not_trusted_the_value_is_judged_again(
    tmp_path: Path, catalog: QiCatalog
) -> None:
    paths = EvidencePaths(tmp_path / "dist", RELEASE)
    recorder = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    record_plan(recorder, catalog, Plan())
    recorder.record(  # written as a pass, but two P1s miss "== 0"
        Measurement(
            qi_id="p1_incidents",
            tenant="TENANT_001",
            value=2.0,
            unit="count",
            comparator="==",
            threshold=0.0,
            verdict=Verdict.PASS,
            reason="hand-written",
            source="incident log",
        )
    )
    recorder.close()
    evidence = from_session_chain(
        paths.chain, catalog, out_dir=paths.out_dir, release=RELEASE, signing_key_path=None
    )

    item = evaluate_dod(evidence, catalog).item("p1_incidents")

    assert (item.verdict, item.value, item.reason) == (Verdict.FAIL, 2.0, "2 misses == 0")


def test_at_100_columns_no_item_name_or_verdict_is_cut(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    plan = Plan(time_scale=600, day_plan_seconds=3_600, streak_measured=True, pilot={})
    bundle_path = bundle_of(plan)
    bundle = read_bundle(bundle_path)
    summary = rendered(lambda console: print_summary(bundle, console), width=100)
    assert all(len(line) <= 100 for line in summary), max(summary, key=len)
    first_cells = {row[0] for row in cells(summary)}
    for row in bundle.dod:
        assert row.qi_id in first_cells, (row.qi_id, first_cells)
    evidence, _ = verified_evidence(bundle_path, catalog)
    report = evaluate_dod(evidence, catalog)
    table = rendered(lambda console: print_dod(report, console), width=100)
    assert all(len(line) <= 100 for line in table), max(table, key=len)
    verdicts = [row[3] for row in cells(table) if row[3]]
    assert {item.verdict.value for item in report.items} <= set(verdicts), verdicts
    assert not any("…" in verdict for verdict in verdicts), verdicts
