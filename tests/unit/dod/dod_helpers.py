"""Model-built evidence for the DoD and decision tests: a run recorded through the same
recording boundary the plugin uses (`EvidenceRecorder`), then published as a signed bundle.

`Plan` says what the run contains; each part can be left out or made to fail, so a test
states only what it changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pytest_mc.dod.evidence import DodEvidence, from_bundle
from pytest_mc.evidence.publish import publish
from pytest_mc.evidence.recorder import EvidencePaths, EvidenceRecorder
from pytest_mc.evidence.records import (
    CategoryVerdict,
    DayVerdict,
    RunFinished,
    RunStarted,
    ScenarioFinished,
    ScenarioStarted,
    TargetInfo,
)
from pytest_mc.evidence.signing import TrustedKeys, load_public_key, load_signing_key
from pytest_mc.evidence.verify import VerificationReport
from pytest_mc.policy.catalog import (
    DEFAULT_CATALOG_PATH,
    QiCatalog,
    catalog_reference,
    load_catalog,
)
from pytest_mc.policy.verdict import Ratio, Verdict

RELEASE = "v0.3.1-mc"
DAY = 86_400.0
CLEAN_TRIALS = 3_000  # zero failures in 3,000 shows >= 99.9% at 95%
START = datetime(2026, 10, 1, tzinfo=UTC)

PilotValue = float | Ratio | None


def clean_pilot() -> dict[str, PilotValue]:
    """Pilot measurements of TENANT_001 that pass every acceptance KPI."""
    return {
        "p1_incidents": 0,
        "autonomy_success_rate": Ratio(events=CLEAN_TRIALS, trials=CLEAN_TRIALS),
        "compensation_rate": Ratio(events=0, trials=CLEAN_TRIALS),
        "sim_false_negative_rate": Ratio(events=0, trials=CLEAN_TRIALS),
        "slo_regression": 0,
        "cost_within_budget": 0.7,
        "privacy_incidents": 0,
    }


@dataclass(frozen=True)
class Plan:
    """What a recorded run holds. The defaults make every DoD item pass."""

    time_scale: float = 1.0
    ga_tenants: tuple[str, ...] = ("TENANT_004", "TENANT_005")
    lag_at_ga: float = 12.0
    gates_after_soak: bool = True
    rollout_outcome: str = "passed"
    green_days: int = 14
    red_day_at: int | None = None
    day_plan_seconds: float = DAY
    streak_measured: bool = False
    pilot: dict[str, PilotValue] = field(default_factory=clean_pilot)
    pilot_tripwire: str | None = None
    tripwire_induced_by_chaos: bool = False
    ga_delta_report: bool = True
    user_key: bool = True

    def but(self, **changes: object) -> Plan:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CliResult:
    """What `mc-verify` did when called in-process."""

    code: int
    out: str
    err: str


def write_user_key(path: Path) -> Path:
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _rollout(recorder: EvidenceRecorder, tenant: str, plan: Plan) -> None:
    nodeid = f"features/test_plan.py::test_rollout[{tenant}]"
    recorder.record(ScenarioStarted(nodeid=nodeid, scenario="rollout", tenant=tenant))
    recorder.measure("stage_ga_soak", DAY, tenant=tenant, source="held ga", nodeid=nodeid)
    if plan.gates_after_soak:
        _gates(recorder, tenant, nodeid, plan)
    recorder.record(
        ScenarioFinished(
            nodeid=nodeid,
            tenant=tenant,
            outcome=plan.rollout_outcome,  # type: ignore[arg-type]
            duration_seconds=1.0,
        )
    )


def _gates(recorder: EvidenceRecorder, tenant: str, nodeid: str, plan: Plan) -> None:
    recorder.measure(
        "replication_lag", plan.lag_at_ga, tenant=tenant, source="scrape", nodeid=nodeid
    )
    recorder.measure(
        "conflict_rate",
        Ratio(events=0, trials=8_000),
        tenant=tenant,
        source="scrape",
        nodeid=nodeid,
    )
    recorder.measure(
        "privacy_violations", 0, tenant=tenant, source="scrape", samples=500, nodeid=nodeid
    )
    recorder.measure("budget_utilization", 0.4, tenant=tenant, source="scrape", nodeid=nodeid)


def _category(name: str, green: bool) -> CategoryVerdict:
    return CategoryVerdict(
        category=name,  # type: ignore[arg-type]
        verdict=Verdict.PASS if green else Verdict.FAIL,
        qi_ids=("replication_lag",),
        reasons=() if green else ("replication_lag: 75 s misses <= 60",),
    )


def _days(recorder: EvidenceRecorder, tenant: str, plan: Plan) -> None:
    day = plan.day_plan_seconds
    wall = timedelta(seconds=day / plan.time_scale)
    for index in range(plan.green_days):
        green = index != plan.red_day_at
        started = START + index * wall
        recorder.record(
            DayVerdict(
                bake_id=f"bake-{tenant}",
                tenant=tenant,
                day_index=index,
                day_plan_seconds=day,
                plan_start_seconds=index * day,
                plan_end_seconds=(index + 1) * day,
                started_at=started,
                ended_at=started + wall,
                time_scale=plan.time_scale,
                slo=_category("slo", green),
                cost=_category("cost", True),
                privacy=_category("privacy", True),
                green=green,
                rehearsal=plan.time_scale != 1 or day != DAY,
                scale=f"{day:g}s at time scale {plan.time_scale:g}",
            )
        )
    if plan.streak_measured:  # as `mc-verify bake` records it once the days are judged
        recorder.measure(
            "expansion_green_streak",
            plan.green_days,
            tenant=tenant,
            source="bake: consecutive green day_verdict records",
            samples=plan.green_days,
        )


def record_plan(
    recorder: EvidenceRecorder, catalog: QiCatalog, plan: Plan, *, run_id: str = "run-1"
) -> None:
    """Append one whole run described by `plan` to the recorder's chain."""
    recorder.record(
        RunStarted(
            run_id=run_id,
            release=RELEASE,
            target=TargetInfo(name="staging", environment="staging", time_scale=plan.time_scale),
            rehearsal=plan.time_scale != 1,
            catalog=catalog_reference(catalog),
            suite_version="0.3.1",
        )
    )
    for tenant in plan.ga_tenants:
        _rollout(recorder, tenant, plan)
        _days(recorder, tenant, plan)
    for qi_id, value in plan.pilot.items():
        samples = 200 if qi_id in ("p1_incidents", "slo_regression", "privacy_incidents") else None
        recorder.measure(qi_id, value, tenant="TENANT_001", source="pilot review", samples=samples)
    if plan.pilot_tripwire is not None:
        seen = START + timedelta(days=3)
        nodeid = "features/test_plan.py::test_pilot_error_budget_burn"
        if plan.tripwire_induced_by_chaos:
            recorder.attach(
                b'{"title": "error burst"}', name="chaos-journal-errors.json",
                kind="chaos-journal", nodeid=nodeid,
            )  # fmt: skip
        recorder.tripwire(
            plan.pilot_tripwire,
            nodeid=nodeid,
            tenant="TENANT_001",
            condition="2.4% of the error budget burnt in 1h",
            condition_seen_at=seen,
            action_observed="halt_autonomy_read_only",
            action_observed_at=seen + timedelta(seconds=1),
            deadline_seconds=120,
            time_scale=plan.time_scale,
        )
    if plan.ga_delta_report:
        recorder.attach(
            b'{"tenants_at_ga": ["TENANT_004", "TENANT_005"]}\n',
            name="ga-delta-report-v0.3.json",
            kind="report",
        )
    recorder.record(RunFinished(run_id=run_id, exit_status=0, scenarios=2, failed=0))


def build_bundle(
    directory: Path, catalog: QiCatalog, plan: Plan, *, release: str = RELEASE
) -> Path:
    """Record `plan` into `directory` and publish it as a signed bundle; returns its path."""
    paths = EvidencePaths(directory, release)
    recorder = EvidenceRecorder(paths, catalog, writer="controller", durable=False)
    record_plan(recorder, catalog, plan)
    recorder.close()
    key_path = write_user_key(directory / "signing.pem") if plan.user_key else None
    key = load_signing_key(key_path)
    publish(paths.chain, paths.bundle, catalog, key, release=release)
    # Even an ephemeral key's public key, as `mc-verify run` hands it over in-process.
    public_key_of(paths.bundle).write_bytes(key.public_pem)
    return paths.bundle


def public_key_of(bundle: Path) -> Path:
    """The public key of the key `build_bundle` signed `bundle` with."""
    return bundle.with_name("signing.pub.pem")


def verified_evidence(bundle: Path, catalog: QiCatalog) -> tuple[DodEvidence, VerificationReport]:
    """`from_bundle`, trusting the key the bundle was signed with."""
    return from_bundle(
        bundle, catalog, trusted=TrustedKeys.of([load_public_key(public_key_of(bundle))])
    )


def draft_catalog(directory: Path) -> QiCatalog:
    """A DRAFT of the packaged catalog under a version of its own (1.1.0), loaded as every
    command loads a catalog."""
    path = directory / "qi-1.1.0.yaml"
    text = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
    text = text.replace("version: 1.0.0\n", "version: 1.1.0\n", 1)
    path.write_text(text.replace("status: FROZEN\n", "status: DRAFT\n", 1), encoding="utf-8")
    draft = load_catalog(path)
    assert (draft.version, draft.status) == ("1.1.0", "DRAFT")
    return draft
