"""The week-5 decision: "expand" only on passing KPIs, no pilot tripwire and evidence at time
scale 1; "hold" otherwise, with every reason and what would settle an unsettled KPI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from dod_helpers import Plan, build_bundle, clean_pilot, draft_catalog, verified_evidence

from pytest_mc.dod.decision import Week5Decision, decide
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.verdict import Ratio, Verdict
from pytest_mc.reporting.decision_markdown import decision_markdown
from pytest_mc.schemas import validate_instance

BundleOf = Callable[[Plan], Path]


def decision_for(bundle_of: BundleOf, catalog: QiCatalog, plan: Plan) -> Week5Decision:
    evidence, _ = verified_evidence(bundle_of(plan), catalog)
    return decide(evidence, catalog)


def test_clean_pilot_at_time_scale_1_expands(bundle_of: BundleOf, catalog: QiCatalog) -> None:
    decision = decision_for(bundle_of, catalog, Plan())

    assert decision.decision == "expand"
    assert decision.reasons == ()
    assert decision.kpis_support_expansion
    assert [k.qi_id for k in decision.kpis] == [
        "autonomy_success_rate",
        "compensation_rate",
        "sim_false_negative_rate",
        "p1_incidents",
        "slo_regression",
        "cost_within_budget",
        "privacy_incidents",
    ]
    assert all(k.verdict == Verdict.PASS for k in decision.kpis)
    assert (decision.p1_incidents, decision.slo_regressions) == (0.0, 0.0)
    markdown = decision_markdown(decision)
    assert markdown.startswith("# Week-5 decision: Expand the autonomy pilot\n")
    assert "| Autonomy enactment success rate | 100.0000% (3,000/3,000) | >= 99.9% | pass |" in (
        markdown
    )


def test_rehearsal_holds_even_when_the_kpis_support_expansion(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    decision = decision_for(bundle_of, catalog, Plan(time_scale=600))

    assert (decision.decision, decision.kpis_support_expansion) == ("hold", True)
    assert decision.reasons == (
        'the evidence is a rehearsal (time scale 600): it cannot decide "expand" for '
        "production; on these KPIs a production run would expand",
    )


def test_evidence_judged_against_a_draft_catalog_holds_and_says_so(
    tmp_path: Path, catalog: QiCatalog
) -> None:
    draft = draft_catalog(tmp_path)
    evidence, _ = verified_evidence(build_bundle(tmp_path / "dist", draft, Plan()), draft)

    decision = decide(evidence, catalog)

    assert (decision.decision, decision.kpis_support_expansion) == ("hold", True)
    assert decision.draft_catalog
    assert not decision.rehearsal
    assert decision.reasons == (
        "the evidence was judged against draft catalog 1.1.0, not a published version: it "
        'cannot decide "expand"',
    )
    markdown = decision_markdown(decision)
    assert f"- QI catalog: 1.1.0 `{draft.digest}` — **draft catalog** (not a published " in (
        markdown
    )


def test_missing_pilot_data_holds_and_says_what_to_record(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    decision = decision_for(bundle_of, catalog, Plan(pilot={}))

    assert decision.decision == "hold"
    assert not decision.kpis_support_expansion
    assert all(k.verdict == Verdict.INCONCLUSIVE for k in decision.kpis)
    assert decision.p1_incidents is None
    assert len(decision.reasons) == 7
    assert decision.reasons[0].startswith(
        "autonomy_success_rate is inconclusive: no autonomy_success_rate measurement of "
        "TENANT_001 in this evidence"
    )
    # a never-measured rate still says how many clean trials it takes
    assert decision.hints[0] == (
        "autonomy_success_rate: not measured for TENANT_001; record it during the pilot "
        "(at least 2,995 clean trials settle it)"
    )
    assert "p1_incidents: not measured for TENANT_001; record it during the pilot" in (
        decision.hints
    )


def test_an_unsettled_rate_holds_with_the_clean_trials_it_needs(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    pilot = clean_pilot() | {"sim_false_negative_rate": Ratio(events=0, trials=1_000)}
    decision = decision_for(bundle_of, catalog, Plan(pilot=pilot))

    assert decision.decision == "hold"
    kpi = next(k for k in decision.kpis if k.qi_id == "sim_false_negative_rate")
    assert (kpi.verdict, kpi.more_trials_needed) == (Verdict.INCONCLUSIVE, 1_995)
    assert decision.hints == (
        "sim_false_negative_rate: 1,995 more clean trials would settle it at 95% confidence",
    )


def test_a_p1_and_a_pilot_tripwire_each_hold(bundle_of: BundleOf, catalog: QiCatalog) -> None:
    plan = Plan(pilot=clean_pilot() | {"p1_incidents": 1}, pilot_tripwire="tripwire_burn_fast")
    decision = decision_for(bundle_of, catalog, plan)

    assert decision.decision == "hold"
    assert decision.p1_incidents == 1.0
    assert decision.reasons[0].startswith("p1_incidents fails == 0: 1 misses == 0")
    assert [(t.qi_id, t.induced) for t in decision.tripwires_fired] == [
        ("tripwire_burn_fast", False)
    ]
    assert decision.reasons[1] == (
        "tripwire tripwire_burn_fast fired during the pilot (2.4% of the error budget burnt "
        "in 1h → halt_autonomy_read_only)"
    )
    assert "- tripwire_burn_fast: 2.4% of the error budget" in decision_markdown(decision)


def test_a_tripwire_induced_by_a_chaos_experiment_is_listed_but_does_not_hold(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    plan = Plan(pilot_tripwire="tripwire_burn_fast", tripwire_induced_by_chaos=True)
    decision = decision_for(bundle_of, catalog, plan)

    assert decision.decision == "expand"
    assert [(t.qi_id, t.induced) for t in decision.tripwires_fired] == [
        ("tripwire_burn_fast", True)
    ]
    assert "(induced by a chaos experiment; not counted)" in decision_markdown(decision)


def test_the_decision_json_matches_its_committed_schema(
    bundle_of: BundleOf, catalog: QiCatalog
) -> None:
    decision = decision_for(bundle_of, catalog, Plan(pilot={}))
    document = json.loads(decision.model_dump_json())

    validate_instance("week5-decision", document, where="decision")
