"""Recorded measurements judged again by the verdict engine against the frozen catalog.

A DoD item or a decision KPI never trusts a verdict because it was written down: the value
(or, for a rate, its counts) is judged again with `pytest_mc.policy.verdict.judge`, so what
is reported is the frozen catalog's rule applied to what was measured. No measurement at all
is judged as no data, which the engine makes inconclusive, never a pass.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from pytest_mc.dod.evidence import DodEvidence, Traced
from pytest_mc.evidence.records import Measurement
from pytest_mc.policy.catalog import QiDefinition
from pytest_mc.policy.crosscheck import describe_target
from pytest_mc.policy.verdict import Judgement, Ratio, Verdict, judge


class Judged(BaseModel):
    """A value judged against a rule: what was seen, the rule, the verdict and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float | str | None
    shown: str
    threshold: str
    verdict: Verdict
    rehearsal: bool
    source: str
    reason: str
    events: int | None = None
    trials: int | None = None
    confidence: float | None = None
    bound: float | None = None
    more_trials_needed: int | None = None


def rejudge(qi: QiDefinition, measurement: Measurement | None) -> Judgement:
    """Judge a recorded measurement again; a rate from its counts, anything else its value."""
    if measurement is None:
        return judge(qi, None)
    counts = (
        Ratio(events=measurement.events, trials=measurement.trials)
        if measurement.events is not None
        and measurement.trials is not None
        and measurement.events <= measurement.trials
        else None
    )
    if qi.kind == "rate":
        return judge(qi, counts)
    if counts is not None and qi.unit == "fraction":
        return judge(qi, counts)
    return judge(qi, measurement.value)


def latest_measurement(
    evidence: DodEvidence, qi_id: str, tenant: str | None
) -> tuple[Traced, Measurement] | None:
    """The last measurement of `qi_id` for `tenant` in chain order, with its trace."""
    found: tuple[Traced, Measurement] | None = None
    for traced in evidence.traced():
        body = traced.body
        if isinstance(body, Measurement) and body.qi_id == qi_id and body.tenant == tenant:
            found = (traced, body)
    return found


def section_name(tenant: str | None) -> str:
    """The bundle section a tenant's records are in."""
    return "run_wide" if tenant is None else f"tenants.{tenant}"


def judged_measurement(evidence: DodEvidence, qi: QiDefinition, tenant: str | None) -> Judged:
    """The latest measurement of `qi` for `tenant`, judged again; inconclusive when absent."""
    found = latest_measurement(evidence, qi.id, tenant)
    source = f"{section_name(tenant)}.measurements[{qi.id}]"
    if found is None:
        judgement = rejudge(qi, None)
        return Judged(
            value=None,
            shown="not measured",
            threshold=rule_text(qi),
            verdict=judgement.verdict,
            rehearsal=evidence.views.rehearsal,
            source=source,
            reason=f"no {qi.id} measurement of {tenant or 'the run'} in this evidence: "
            f"{judgement.reason}",
        )
    traced, measurement = found
    judgement = rejudge(qi, measurement)
    return Judged(
        value=judgement.value,
        shown=shown_value(judgement),
        threshold=rule_text(qi),
        verdict=judgement.verdict,
        rehearsal=traced.rehearsal,
        source=f"{source}, chain {traced.chain_index} seq {traced.seq}",
        reason=judgement.reason,
        events=judgement.events,
        trials=judgement.trials,
        confidence=judgement.confidence,
        bound=judgement.bound,
        more_trials_needed=judgement.more_trials_needed,
    )


def rule_text(qi: QiDefinition) -> str:
    """The catalog rule as a person reads it: '>= 99.9%', '== 0', '>= 14 days'."""
    return f"{qi.comparator} {describe_target(qi)}"


def shown_value(judgement: Judgement) -> str:
    """A judged value for a table: a rate with its counts, others with their unit."""
    if judgement.value is None:
        if judgement.trials == 0:
            return "0 trials"
        return "no data"
    value = judgement.value
    if judgement.trials is not None and judgement.events is not None:
        return f"{value:.4%} ({judgement.events:,}/{judgement.trials:,})"
    if judgement.unit == "fraction":
        return f"{value:.4%}"
    unit = {"seconds": " s", "days": " days", "count": "", "ratio": ""}[judgement.unit]
    return f"{value:g}{unit}"


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """fail over inconclusive over pass; nothing at all is inconclusive."""
    seen = list(verdicts)
    if Verdict.FAIL in seen:
        return Verdict.FAIL
    if not seen or Verdict.INCONCLUSIVE in seen:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS
