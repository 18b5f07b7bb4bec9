"""Definition-of-Done steps: each DoD item judged from the evidence this session recorded so far.

The chain the session is writing is verified and materialized exactly as a bundle would be
(`pytest_mc.dod`), the DoD report is attached as evidence, and each step fails when its item
is not met: a fail, or an inconclusive (missing data is never a pass). Against a real staging
(time scale 1) the item must be met. A rehearsal can never meet a GA DoD item, so there the
step asks what a rehearsal can show: that the evidence passes. The scenario then passes
tagged `rehearsal`, the attached report marks the item as rehearsal evidence, and
`mc-verify dod` still refuses it. Numbers the feature states are checked against the frozen
catalog. Failure messages start with "DoD item", which is how the Allure categories file
them with the failed gates.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pytest_bdd import given, parsers, then

from pytest_mc.dod.evidence import from_session_chain
from pytest_mc.dod.items import (
    EXPANSION_TENANTS,
    PILOT_TENANT,
    STREAK_QI,
    DodItem,
    DodReport,
    evaluate_dod,
)
from pytest_mc.errors import InputError
from pytest_mc.fixtures import McEvidence
from pytest_mc.policy.catalog import load_catalog
from pytest_mc.policy.crosscheck import check_stated
from pytest_mc.policy.verdict import Verdict
from pytest_mc.session import SESSION_KEY
from pytest_mc.target.profile import TargetProfile


@dataclass(frozen=True)
class DodSoFar:
    """The DoD judged so far, and whether this session is a rehearsal (time scale != 1)."""

    report: DodReport
    rehearsal: bool


@given(
    "the Definition of Done judged from the evidence recorded so far", target_fixture="dod_report"
)
def dod_so_far(
    request: pytest.FixtureRequest, mc_profile: TargetProfile, mc_evidence: McEvidence
) -> DodSoFar:
    session = request.config.stash[SESSION_KEY]
    evidence = from_session_chain(
        mc_evidence.chain_path,
        mc_evidence.catalog,
        out_dir=session.paths.out_dir,
        release=session.settings.release,
        signing_key_path=session.settings.signing_key,
    )
    report = evaluate_dod(evidence, load_catalog())
    mc_evidence.attach(
        report.model_dump_json(indent=2).encode(), name="dod-report.json", kind="report"
    )
    return DodSoFar(report=report, rehearsal=mc_profile.is_rehearsal)


@then(parsers.parse("tenant {tenant} is at active/active GA through its gated rollout"))
def tenant_at_ga(dod_report: DodSoFar, tenant: str) -> None:
    _require_met(dod_report, f"aa_ga:{_expansion_tenant(tenant)}")


@then(
    parsers.parse(
        "tenant {tenant} has been green on SLO, cost and privacy for {stated} consecutive days"
    )
)
def tenant_green_streak(dod_report: DodSoFar, tenant: str, stated: str) -> None:
    check_stated(load_catalog().get(STREAK_QI), f"{stated} days", where="the DoD streak step")
    _require_met(dod_report, f"green_streak:{_expansion_tenant(tenant)}")


@then(parsers.parse("the Tier-3 pilot on tenant {tenant} completed with {stated} P1 incidents"))
def pilot_p1s(dod_report: DodSoFar, tenant: str, stated: str) -> None:
    if tenant != PILOT_TENANT:
        raise InputError(f"the plan's Tier-3 pilot runs on {PILOT_TENANT}, not {tenant!r}")
    _require_stated(dod_report, "p1_incidents", stated)


@then(parsers.parse("the pilot's autonomy success rate is at least {stated}"))
def pilot_success_rate(dod_report: DodSoFar, stated: str) -> None:
    _require_stated(dod_report, "autonomy_success_rate", stated)


@then(parsers.parse("the pilot's compensation rate is at most {stated}"))
def pilot_compensation_rate(dod_report: DodSoFar, stated: str) -> None:
    _require_stated(dod_report, "compensation_rate", stated)


@then(parsers.parse("the pilot's simulation false-negative rate is at most {stated}"))
def pilot_false_negative_rate(dod_report: DodSoFar, stated: str) -> None:
    _require_stated(dod_report, "sim_false_negative_rate", stated)


@then("the evidence chain is intact and the bundle is signed with the user's key")
def bundle_signed(dod_report: DodSoFar) -> None:
    _require_met(dod_report, "evidence_bundle")


@then("the GA delta report is appended to the evidence")
def ga_delta_appended(dod_report: DodSoFar) -> None:
    _require_met(dod_report, "ga_delta_report")


@then("the evidence references the frozen QI catalog v1 by digest")
def catalog_referenced(dod_report: DodSoFar) -> None:
    _require_met(dod_report, "qi_catalog")


def _expansion_tenant(tenant: str) -> str:
    if tenant not in EXPANSION_TENANTS:
        raise InputError(
            f"{tenant!r} is not one of the plan's expansion tenants {', '.join(EXPANSION_TENANTS)}"
        )
    return tenant


def _require_stated(report: DodSoFar, qi_id: str, stated: str) -> None:
    check_stated(load_catalog().get(qi_id), stated, where=f"the DoD step for {qi_id}")
    _require_met(report, qi_id)


def _require_met(so_far: DodSoFar, item_id: str) -> None:
    report = so_far.report
    item = report.item(item_id)
    if item.met or (so_far.rehearsal and item.verdict == Verdict.PASS):
        return
    raise AssertionError(f"DoD item {item.title}: not met — {_why(item, report)}")


def _why(item: DodItem, report: DodReport) -> str:
    if item.verdict == Verdict.PASS and item.rehearsal:
        scales = ", ".join(f"{scale:g}" for scale in report.time_scales)
        return (
            f"the evidence passes ({item.shown}) but is a rehearsal (time scale {scales}), "
            f"which cannot satisfy a GA DoD item [{item.source}]"
        )
    return f"{item.verdict.value}: {item.reason} [{item.source}]"
