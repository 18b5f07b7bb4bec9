"""Evidence-integration steps (plan §C): produce the GA delta report, the DR drill schedule and
the privacy dashboard tiles into the run's output directory, attach them, and check them.

The GA delta report is computed from the evidence recorded so far: the chain is published as a
snapshot bundle (ephemeral key) in the output directory, verified, and cited by sha256. Its
name does not match `evidence-*.json`, so it is never taken for the run's own bundle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.gates import GateWindow
from pytest_mc.drivers.k6 import K6Driver
from pytest_mc.drivers.k6_models import K6Load
from pytest_mc.evidence.bundle import SigningInfo, materialize, segment
from pytest_mc.evidence.chain import read_chain, verify_chain
from pytest_mc.evidence.publish import write_and_sign
from pytest_mc.evidence.records import ArtifactKind, Measurement
from pytest_mc.evidence.signing import TrustedKeys, load_signing_key
from pytest_mc.fixtures import McEvidence
from pytest_mc.integration import ical
from pytest_mc.integration.dr_schedule import (
    DrDrillSchedule,
    build_schedule,
    next_month,
    read_readiness,
    write_schedule,
)
from pytest_mc.integration.ga_delta import GA_QI, ga_delta_from_file, write_ga_delta
from pytest_mc.integration.ga_delta_models import REPORT_FILE, GaDeltaReport
from pytest_mc.integration.output import sha256_of
from pytest_mc.integration.privacy_tiles import (
    FOLDER_UID,
    GrafanaDashboard,
    queried_metrics,
    write_tiles,
)
from pytest_mc.metrics.evaluator import WindowEvaluator
from pytest_mc.metrics.source import MetricQuery, MetricSource
from pytest_mc.policy.timewindow import parse_duration
from pytest_mc.policy.verdict import Ratio, Verdict
from pytest_mc.schemas import validate_instance
from pytest_mc.session import SESSION_KEY
from pytest_mc.steps.context import ScenarioContext, ScenarioState
from pytest_mc.steps.load import BackgroundLoad, record_k6_run
from pytest_mc.target.profile import TargetProfile

# How far ahead the schedule a run produces reaches: one year of monthly drills.
SCHEDULE_MONTHS = 12
# Stimulus of the GA-before baseline (not policy): the load shape a rollout stage holds.
BASELINE_VUS = 4
BASELINE_KEYS = 100_000
BASELINE_WRITE_SHARE = 0.8


@dataclass(repr=False)
class IntegrationScenario(ScenarioState):
    """What one evidence-integration scenario's steps hand each other."""

    report: GaDeltaReport | None = None
    report_path: Path | None = None
    notes_path: Path | None = None
    snapshot: Path | None = None
    schedule: DrDrillSchedule | None = None
    schedule_paths: tuple[Path, Path] | None = None
    tiles: tuple[Path, Path, Path] | None = None
    baseline: set[str] = field(default_factory=set)


@pytest.fixture
def mc_integration() -> IntegrationScenario:
    return IntegrationScenario()


def _out_dir(request: pytest.FixtureRequest) -> Path:
    return request.config.stash[SESSION_KEY].paths.out_dir


def _attach(evidence: McEvidence, path: Path, media: str) -> None:
    kind: ArtifactKind = "json" if path.suffix == ".json" else "report"
    evidence.attach(path, name=path.name, kind=kind, media_type=media)


def _report(state: IntegrationScenario) -> GaDeltaReport:
    assert state.report is not None, "no GA delta report in this scenario: compute it first"
    return state.report


def _schedule(state: IntegrationScenario) -> DrDrillSchedule:
    assert state.schedule is not None, "no DR drill schedule in this scenario: build it first"
    return state.schedule


def _tiles(state: IntegrationScenario) -> tuple[Path, Path, Path]:
    assert state.tiles is not None, "no privacy tiles in this scenario: generate them first"
    return state.tiles


# --------------------------------------------------------------------------- GA delta


@given(
    "the tenants at A/A GA before the expansion in the target profile", target_fixture="ga_before"
)
def ga_before_tenants(mc_profile: TargetProfile) -> tuple[str, ...]:
    tenants = tuple(t.id for t in mc_profile.tenants if t.wave == "ga")
    assert tenants, f"target profile {mc_profile.name!r} has no tenant with wave: ga"
    return tenants


@when(
    parsers.parse(
        "the validation gates of the GA-before tenants are measured for {duration} of plan "
        "time under k6 load"
    )
)
def measure_ga_before_baseline(
    mc_profile: TargetProfile,
    mc_k6: K6Driver,
    mc_metrics: MetricSource,
    mc_evaluator: WindowEvaluator,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    mc_integration: IntegrationScenario,
    tmp_path_factory: pytest.TempPathFactory,
    ga_before: tuple[str, ...],
    duration: str,
) -> None:
    """The GA fleet's own figures, so the report has a baseline to compare the added tenants
    with: each GA-before tenant in turn, under the same load shape a rollout stage holds."""
    wall = parse_duration(duration) / mc_profile.time_scale
    for tenant in ga_before:
        gates = GateWindow(
            mc_metrics,
            mc_evaluator,
            mc_evidence.catalog,
            tenant,
            interval_seconds=mc_profile.metrics.sample_interval_seconds,
        ).for_hold(wall)
        load = K6Load(
            vus=BASELINE_VUS,
            duration_seconds=wall,
            keys=BASELINE_KEYS,
            write_share=BASELINE_WRITE_SHARE,
        )
        with gates:
            traffic = BackgroundLoad(
                mc_k6, tenant, load, tmp_path_factory.mktemp("k6"), mc_evidence.run_id
            )
            result = traffic.join(timeout=wall + 120)
        record_k6_run(mc_evidence, mc_context, tenant, result, label="ga-baseline")
        for reading in gates.judge_gates():
            judgement = reading.judgement
            measured: float | Ratio | None = judgement.value
            if judgement.events is not None and judgement.trials is not None:
                measured = Ratio(events=judgement.events, trials=judgement.trials)
            mc_evidence.measure(
                reading.qi_id,
                measured,
                tenant=tenant,
                source=f"{reading.window.source}: {reading.window.query} over the GA baseline",
                samples=None if isinstance(measured, Ratio) else reading.window.samples,
            )
            mc_integration.baseline.add(reading.qi_id)


@when("the GA delta report is computed from the evidence recorded so far")
def compute_report(
    request: pytest.FixtureRequest,
    mc_evidence: McEvidence,
    mc_integration: IntegrationScenario,
    ga_before: tuple[str, ...],
) -> None:
    session = request.config.stash[SESSION_KEY]
    out = _out_dir(request)
    records = verify_chain(read_chain(mc_evidence.chain_path).records, where="the chain")
    key = load_signing_key(None)
    snapshot = materialize(
        [segment(records)],
        mc_evidence.catalog,
        release=session.settings.release,
        signing=SigningInfo(keyid=key.keyid, ephemeral=key.ephemeral),
    )
    path = out / f"ga-delta-input-{session.settings.release}.json"
    write_and_sign(snapshot, path, key)
    # Signed here, in-process, with a key made for it: that key is the one to trust.
    trusted = TrustedKeys.of([key.public_raw])
    report = ga_delta_from_file(path, mc_evidence.catalog, ga_before=ga_before, trusted=trusted)
    report_path, notes_path = write_ga_delta(report, out / "integration")
    mc_integration.report = report
    mc_integration.report_path = report_path
    mc_integration.notes_path = notes_path
    mc_integration.snapshot = path
    _attach(mc_evidence, report_path, "application/json")
    _attach(mc_evidence, notes_path, "text/markdown")


@then("the GA delta report is valid against its schema and cites the bundle by sha256")
def report_valid(mc_integration: IntegrationScenario) -> None:
    report = _report(mc_integration)
    assert mc_integration.report_path is not None
    assert mc_integration.snapshot is not None
    document = json.loads(mc_integration.report_path.read_text(encoding="utf-8"))
    validate_instance("ga-delta-report", document, where=str(mc_integration.report_path))
    assert report.bundle.verified, "the GA delta report cites a bundle it did not verify"
    actual = sha256_of(mc_integration.snapshot)
    assert report.bundle.sha256 == actual, (
        f"GA delta report cites bundle sha256 {report.bundle.sha256[:12]}…, the file has "
        f"{actual[:12]}…"
    )


@then("the GA delta report references the QI catalog by version and digest")
def report_cites_catalog(mc_evidence: McEvidence, mc_integration: IntegrationScenario) -> None:
    cited = _report(mc_integration).catalog
    catalog = mc_evidence.catalog
    assert (cited.version, cited.digest, cited.status) == (
        catalog.version,
        catalog.digest,
        "FROZEN",
    ), f"GA delta report cites catalog {cited.version} {cited.digest} ({cited.status})"


@then("the GA delta report says whether it was computed from rehearsal evidence")
def report_says_rehearsal(mc_profile: TargetProfile, mc_integration: IntegrationScenario) -> None:
    report = _report(mc_integration)
    assert report.rehearsal == mc_profile.is_rehearsal, (
        f"GA delta report says rehearsal={report.rehearsal} for a run at time scale "
        f"{mc_profile.time_scale:g}"
    )
    assert mc_profile.time_scale in report.time_scales
    risks = {risk.kind for risk in report.open_risks}
    assert ("rehearsal_only" in risks) == mc_profile.is_rehearsal, (
        f"rehearsal evidence must be an open risk of the GA delta report, and only then: {risks}"
    )


@then("every tenant added to GA in the GA delta report passed its GA soak in the evidence")
def added_tenants_passed_soak(
    mc_evidence: McEvidence, mc_integration: IntegrationScenario, ga_before: tuple[str, ...]
) -> None:
    report = _report(mc_integration)
    assert report.ga_before == tuple(sorted(ga_before))
    records = verify_chain(read_chain(mc_evidence.chain_path).records, where="the chain")
    latest_soak: dict[str, Verdict] = {}
    for record in records:
        body = record.body
        if isinstance(body, Measurement) and body.qi_id == GA_QI and body.tenant:
            latest_soak[body.tenant] = body.verdict
    for tenant in report.added:
        assert latest_soak.get(tenant) == Verdict.PASS, (
            f"GA delta report adds {tenant} to GA, but its latest {GA_QI} in the evidence is "
            f"{latest_soak.get(tenant, 'missing')}"
        )
    passed = {tenant for tenant, verdict in latest_soak.items() if verdict == Verdict.PASS}
    missing = sorted(passed - set(report.ga_after))
    assert not missing, f"tenants that passed their GA soak but are not at GA after: {missing}"


@then("the GA delta report compares every gate of the baseline with the GA-before tenants")
def report_has_baseline(mc_integration: IntegrationScenario, ga_before: tuple[str, ...]) -> None:
    report = _report(mc_integration)
    assert mc_integration.baseline, "no GA-before baseline was measured in this scenario"
    assert "no_ga_before_baseline" not in report.flags
    by_id = {qi.qi_id: qi for qi in report.qis}
    for qi_id in sorted(mc_integration.baseline):
        qi = by_id.get(qi_id)
        assert qi is not None, f"the GA delta report has no row for gate {qi_id}"
        assert set(qi.before.measured) == set(ga_before), (
            f"GA delta report: {qi_id} of the GA-before fleet measured for "
            f"{qi.before.measured}, expected {ga_before}"
        )
        if qi.before.value is not None and qi.after.value is not None:
            assert qi.delta == qi.after.value - qi.before.value


@then("the release-notes snippet links the GA delta report by a relative path")
def notes_link_report(mc_integration: IntegrationScenario) -> None:
    report = _report(mc_integration)
    assert mc_integration.notes_path is not None
    assert mc_integration.report_path is not None
    notes = mc_integration.notes_path.read_text(encoding="utf-8")
    link = f"]({REPORT_FILE})"
    assert link in notes, f"release-notes snippet has no relative link {link!r}"
    linked = mc_integration.notes_path.parent / REPORT_FILE
    assert linked == mc_integration.report_path
    assert linked.is_file()
    assert f"{len(report.ga_before)} → {len(report.ga_after)} tenants" in notes
    assert report.bundle.sha256 in notes


# --------------------------------------------------------------------------- DR schedule


@when("the DR drill schedule is built from the target's readiness records")
def build_dr_schedule(
    request: pytest.FixtureRequest,
    mc_control: ControlClient,
    mc_profile: TargetProfile,
    mc_evidence: McEvidence,
    mc_integration: IntegrationScenario,
) -> None:
    schedule = build_schedule(
        mc_profile.name,
        read_readiness(mc_control),
        mc_evidence.catalog,
        profile=mc_profile,
        first_month=next_month(datetime.now(UTC).date()),
        months=SCHEDULE_MONTHS,
    )
    paths = write_schedule(schedule, _out_dir(request) / "integration")
    mc_integration.schedule = schedule
    mc_integration.schedule_paths = paths
    _attach(mc_evidence, paths[0], "application/json")
    _attach(mc_evidence, paths[1], "text/calendar")


@then("every tenant of the target profile is enrolled and has a monthly drill in the schedule")
def every_tenant_drilled(
    mc_control: ControlClient, mc_profile: TargetProfile, mc_integration: IntegrationScenario
) -> None:
    schedule = _schedule(mc_integration)
    gaps = [f"{gap.tenant}: {gap.reason}" for gap in schedule.not_enrolled]
    assert not gaps, f"gate readiness: tenants not enrolled in monthly DR drills: {gaps}"
    drilled = {series.tenant: series for series in schedule.drills}
    for tenant in mc_profile.tenants:
        enrolment = mc_control.dr_status(tenant.id).enrolment.get(tenant.id)
        status = enrolment.status if enrolment is not None else "missing"
        assert status == "enrolled", f"`dr status` shows {tenant.id} enrolment {status!r}"
        series = drilled.get(tenant.id)
        assert series is not None, f"{tenant.id} is enrolled but has no drill in the schedule"
        months = [occurrence.month for occurrence in series.occurrences]
        assert len(months) == SCHEDULE_MONTHS == len(set(months)), (
            f"{tenant.id} is drilled in months {months}, not once a month for "
            f"{SCHEDULE_MONTHS} months"
        )


@then("the DR drill schedule is valid against its schema")
def schedule_valid(mc_integration: IntegrationScenario) -> None:
    assert mc_integration.schedule_paths is not None, "no DR drill schedule was written"
    path = mc_integration.schedule_paths[0]
    validate_instance("dr-drill-schedule", json.loads(path.read_text()), where=str(path))


@then("the calendar export holds one event per scheduled drill with the drill's id")
def calendar_matches(mc_integration: IntegrationScenario) -> None:
    schedule = _schedule(mc_integration)
    assert mc_integration.schedule_paths is not None
    text = mc_integration.schedule_paths[1].read_bytes().decode("utf-8")
    events = ical.events(text)  # refuses lines over 75 octets, missing CRLF
    expected = {
        f"{occurrence.id}@pytest-mc": ical.utc_stamp(occurrence.start)
        for series in schedule.drills
        for occurrence in series.occurrences
    }
    found = {event.get("UID", ""): event.get("DTSTART", "") for event in events}
    assert found == expected, (
        f"calendar has {len(found)} events, the schedule {len(expected)} drills; first "
        f"difference: {sorted(set(found.items()) ^ set(expected.items()))[:1]}"
    )
    for event in events:
        for required in ("DTSTAMP", "DTEND", "SUMMARY"):
            assert required in event, f"event {event.get('UID')} has no {required}"


# --------------------------------------------------------------------------- privacy tiles


@when("the privacy dashboard tiles are generated")
def generate_tiles(
    request: pytest.FixtureRequest, mc_evidence: McEvidence, mc_integration: IntegrationScenario
) -> None:
    paths = write_tiles(_out_dir(request) / "integration")
    mc_integration.tiles = paths
    for path, media in zip(
        paths, ("application/json", "application/yaml", "application/json"), strict=True
    ):
        _attach(mc_evidence, path, media)


@then("the privacy dashboard is valid against its schema")
def dashboard_valid(mc_integration: IntegrationScenario) -> None:
    path = _tiles(mc_integration)[0]
    validate_instance("grafana-dashboard", json.loads(path.read_text()), where=str(path))


@then("every privacy tile queries a metric the target exports")
def tiles_query_exported_metrics(
    mc_metrics: MetricSource, mc_integration: IntegrationScenario
) -> None:
    path = _tiles(mc_integration)[0]
    dashboard = GrafanaDashboard.model_validate_json(path.read_text())
    names = queried_metrics(dashboard)
    assert names, "the privacy dashboard queries no metric"
    absent = [name for name in names if not mc_metrics.sample(MetricQuery.of(name)).samples]
    assert not absent, f"privacy tiles query metrics the target does not export: {absent}"


@then("the privacy dashboard is placed in an admin-only folder")
def dashboard_admin_only(mc_integration: IntegrationScenario) -> None:
    dashboard_path, provisioning_path, folder_path = _tiles(mc_integration)
    provider = yaml.safe_load(provisioning_path.read_text())
    folders = {entry["folderUid"] for entry in provider["providers"]}
    assert folders == {FOLDER_UID}, f"provisioning places the dashboard in {folders}"
    intent = json.loads(folder_path.read_text())
    assert intent["folder_uid"] == FOLDER_UID
    assert intent["dashboard_uid"] == json.loads(dashboard_path.read_text())["uid"]
    assert intent["items"] == [], (
        f"folder {FOLDER_UID} grants {intent['items']}: an admin-only folder grants no Viewer "
        "or Editor access"
    )
