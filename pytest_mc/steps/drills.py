"""DR drill steps: kill a tenant's serving region, then judge RPO and RTO against the catalog."""

from __future__ import annotations

import pytest
from pytest_bdd import parsers, then, when

from pytest_mc.drivers.control import ControlClient
from pytest_mc.drivers.drill import run_drill
from pytest_mc.fixtures import McEvidence
from pytest_mc.policy.crosscheck import check_stated
from pytest_mc.policy.verdict import Verdict
from pytest_mc.reporting.charts import drill_timeline_chart
from pytest_mc.steps.context import ScenarioContext
from pytest_mc.target.profile import TargetProfile


@when(parsers.parse("a DR drill kills the serving region of tenant {tenant}"))
def dr_drill(
    mc_profile: TargetProfile,
    mc_control: ControlClient,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tmp_path_factory: pytest.TempPathFactory,
    tenant: str,
) -> None:
    result = run_drill(
        mc_profile, tenant, workdir=tmp_path_factory.mktemp("drill"), control=mc_control
    )
    mc_evidence.drill(result.timeline())
    chart = drill_timeline_chart(
        result.events,
        title=f"DR drill on {tenant}: lost {result.region_lost}",
        time_scale=mc_profile.time_scale,
    )
    mc_evidence.attach(
        chart, name=f"dr-drill-{tenant}.png", kind="chart", tenant=tenant, media_type="image/png"
    )
    journal = result.chaos.journal_path
    if journal.exists():
        mc_evidence.attach(
            journal, name=f"dr-drill-{tenant}-journal.json", kind="chaos-journal", tenant=tenant
        )
    mc_context.drills.append(result)


@then(parsers.parse("the drill's RPO is within {stated}"))
def drill_rpo(mc_evidence: McEvidence, mc_context: ScenarioContext, stated: str) -> None:
    drill = mc_context.last_drill
    _judge(mc_evidence, "rpo", drill.rpo_plan_seconds, drill.tenant, stated)


@then(parsers.parse("the drill's RTO is within {stated}"))
def drill_rto(mc_evidence: McEvidence, mc_context: ScenarioContext, stated: str) -> None:
    drill = mc_context.last_drill
    _judge(mc_evidence, "rto", drill.rto_plan_seconds, drill.tenant, stated)


@then("the tenant's regions converged after the drill")
def drill_converged(mc_context: ScenarioContext) -> None:
    drill = mc_context.last_drill
    assert drill.converged, (
        f"gate DR convergence: after restoring {drill.region_lost}, the markers of "
        f"{drill.tenant} did not converge across its regions"
    )


def _judge(
    mc_evidence: McEvidence, qi_id: str, value: float | None, tenant: str, stated: str
) -> None:
    qi = mc_evidence.catalog.get(qi_id)
    check_stated(qi, stated, where=f"the {qi_id} step")
    judgement = mc_evidence.measure(qi.id, value, tenant=tenant, source="DR drill markers")
    assert judgement.verdict == Verdict.PASS, f"gate {qi.id}: {judgement.reason}"
