"""The green soak at GA: consecutive days judged green on SLO, cost and privacy.

The plan asks for 14 consecutive green days twice: as its Definition of Done for each
expansion tenant, and as the prerequisite before the next wave expands. The soak runs the
bake runner of `mc-verify bake` (docs/bake.md) on the tenant, under k6 load, writing into this
session's evidence chain: slice checkpoints, one `day_verdict` per day and the green streak
recomputed from them, so the DoD and the next wave read the same records.

At time scale 1 a day is 24h of plan time. A rehearsal compresses each day to
`REHEARSAL_DAY_PLAN_SECONDS` of plan time so the plan's 14 days rehearse in minutes; every day
verdict says so, and a rehearsal day can never join a real streak.
"""

from __future__ import annotations

import logging

import pytest
from pytest_bdd import parsers, then, when

from pytest_mc.bake.plan import make_plan
from pytest_mc.bake.runner import BakeRequest, BakeResult, LiveGate, run_bake
from pytest_mc.dod.items import STREAK_QI
from pytest_mc.evidence.records import BakeCheckpoint, BakePlanInfo, DayVerdict
from pytest_mc.evidence.streak import GreenStreak
from pytest_mc.fixtures import McEvidence
from pytest_mc.policy.catalog import QiCatalog
from pytest_mc.policy.crosscheck import check_stated
from pytest_mc.policy.timewindow import DAY_PLAN_SECONDS
from pytest_mc.policy.verdict import Verdict, judge
from pytest_mc.session import SESSION_KEY
from pytest_mc.steps.context import ScenarioContext
from pytest_mc.steps.pacing import log_wait
from pytest_mc.target.profile import TargetProfile

# 1h days (one 1h slice each), as docs/bake.md rehearses the streak: 14 days are 14h of plan
# time, 84 s of wall time at time scale 600.
REHEARSAL_DAY_PLAN_SECONDS = 3600.0

_log = logging.getLogger(__name__)


class _LoggedProgress:
    """The bake's progress as log lines (pytest shows them with --log-cli-level=INFO)."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant

    def started(self, bake_id: str, plan: BakePlanInfo, first_slice: int, resumed: bool) -> None:
        _log.info(
            "soak %s of %s: %d day(s) of %gs plan time, %gs wall",
            bake_id,
            self.tenant,
            plan.days,
            plan.day_plan_seconds,
            plan.duration_plan_seconds / plan.time_scale,
        )

    def slice_started(self, index: int, wall_seconds: float) -> None:
        del index, wall_seconds

    def slice_done(self, checkpoint: BakeCheckpoint, gates: tuple[LiveGate, ...]) -> None:
        if not checkpoint.green:
            failed = ", ".join(f"{g.qi_id} {g.shown}" for g in gates if g.verdict is Verdict.FAIL)
            _log.warning(
                "soak of %s: slice %d failed: %s", self.tenant, checkpoint.slice_index, failed
            )

    def day_done(self, day: DayVerdict, streak: GreenStreak) -> None:
        _log.info(
            "soak of %s: day %d %s, streak %d day(s)",
            self.tenant,
            day.day_index,
            "green" if day.green else "RED",
            streak.current_days,
        )

    def note(self, text: str) -> None:
        _log.info("soak of %s: %s", self.tenant, text)

    def close(self) -> None:
        return None


def soak_day_plan_seconds(profile: TargetProfile) -> float:
    """A day of the soak: 24h on a real staging, compressed in a rehearsal."""
    return DAY_PLAN_SECONDS if profile.time_scale == 1 else REHEARSAL_DAY_PLAN_SECONDS


@when(parsers.parse("tenant {tenant} soaks at GA for {days:d} consecutive days under k6 load"))
def soak_at_ga(
    request: pytest.FixtureRequest,
    mc_profile: TargetProfile,
    mc_catalog: QiCatalog,
    mc_evidence: McEvidence,
    mc_context: ScenarioContext,
    tenant: str,
    days: int,
) -> None:
    session = request.config.stash[SESSION_KEY]
    plan = make_plan(
        mc_catalog,
        time_scale=mc_profile.time_scale,
        sample_interval_seconds=mc_profile.metrics.sample_interval_seconds,
        days=days,
        day_plan_seconds=soak_day_plan_seconds(mc_profile),
    )
    bake_request = BakeRequest(
        tenant=tenant,
        out_dir=session.paths.out_dir,
        release=session.settings.release,
        plan=plan,
        signing_key=session.settings.signing_key,
        argv=("soak", tenant, f"{days} days"),
        length_qi=None,
    )
    log_wait(mc_evidence, f"{days}-day soak of {tenant}", plan.duration_plan_seconds)
    result = run_bake(mc_profile, mc_catalog, bake_request, _LoggedProgress(tenant))
    if result.bundle_path.parent.resolve() != mc_evidence.chain_path.parent.resolve():
        raise AssertionError(
            f"soak of {tenant}: the bake wrote to {result.bundle_path.parent}, not beside this "
            f"session's chain {mc_evidence.chain_path}"
        )
    mc_context.soaks[tenant] = result


@then(
    parsers.parse(
        "tenant {tenant} was green on SLO, cost and privacy for {stated} consecutive days"
    )
)
def soak_was_green(
    mc_catalog: QiCatalog, mc_context: ScenarioContext, tenant: str, stated: str
) -> None:
    qi = mc_catalog.get(STREAK_QI)
    check_stated(qi, f"{stated} days", where="the soak step")
    result = mc_context.soaks.get(tenant)
    if result is None:
        raise AssertionError(f"soak: tenant {tenant} was not soaked in this scenario")
    streak = result.streak
    days = streak.current_days if streak is not None else 0
    verdict = judge(qi, days, samples=streak.days_judged if streak else 0).verdict
    # Green days are the DoD line. The soak's bake-wide gates must not fail, but a rate that
    # needs more volume than the soak's compressed days carry (the conflict rate's bound) may
    # stay inconclusive: every stage before GA already judged it.
    green = verdict is Verdict.PASS and result.outcome in ("passed", "inconclusive")
    assert green, (
        f"validation gate {STREAK_QI}: tenant {tenant} was green for {days} consecutive "
        f"day(s) of {result.days_judged} judged, the plan needs {stated}; soak {result.bake_id} "
        f"{result.outcome}: {_why(result)}"
    )


def _why(result: BakeResult) -> str:
    reasons = [*result.failures[:3]]
    if result.streak is not None and result.streak.broken_by:
        reasons.append(f"streak last reset: {result.streak.broken_by}")
    return "; ".join(reasons) or result.detail or "no reason recorded"
