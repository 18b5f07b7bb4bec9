"""The verdict engine: one measurement judged against one QI, as pass, fail or inconclusive.

Missing data and zero volume are never a pass. Rates are judged with an exact one-sided
Clopper–Pearson bound (scipy's beta distribution) and say how many more clean trials would
settle an inconclusive result; tripwires report whether their condition is met (DESIGN §6).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pytest_mc.errors import InputError
from pytest_mc.policy.catalog import Comparator, QiDefinition
from pytest_mc.policy.timewindow import format_duration

DEFAULT_CONFIDENCE = 0.95
# The search for "how many more clean trials" stops here: past a trillion trials the answer
# is "no feasible number", reported as None.
_MAX_EXTRA_TRIALS = 1 << 40

_COMPARE: dict[Comparator, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}


def compare(comparator: Comparator, value: float, target: float) -> bool:
    """`value <comparator> target`, e.g. compare(">", 75.0, 60.0) is True."""
    return _COMPARE[comparator](value, target)


class Verdict(StrEnum):
    """Three-valued: too little data is its own answer, never a pass."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class Ratio(BaseModel):
    """Counts behind a rate: ``events`` of the counted kind out of ``trials``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: int = Field(ge=0)
    trials: int = Field(ge=0)

    @model_validator(mode="after")
    def _events_within_trials(self) -> Ratio:
        if self.events > self.trials:
            raise ValueError(f"events ({self.events}) cannot exceed trials ({self.trials})")
        return self


class Judgement(BaseModel):
    """The verdict on one measurement, with everything needed to re-check it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    qi_id: str
    verdict: Verdict
    value: float | None
    unit: str
    comparator: str
    threshold: float
    events: int | None = None
    trials: int | None = None
    confidence: float | None = None
    bound: float | None = None
    more_trials_needed: int | None = None
    reason: str


# --------------------------------------------------------------------------- exact bounds


def lower_bound(events: int, trials: int, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """Exact one-sided Clopper–Pearson lower bound on the proportion ``events / trials``."""
    _check_counts(events, trials, confidence)
    if events == 0:
        return 0.0
    from scipy.stats import beta  # imported here: scipy is slow to import and rarely needed

    return float(beta.ppf(1.0 - confidence, events, trials - events + 1))


def upper_bound(events: int, trials: int, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """Exact one-sided Clopper–Pearson upper bound on the proportion ``events / trials``."""
    _check_counts(events, trials, confidence)
    if events == trials:
        return 1.0
    from scipy.stats import beta

    return float(beta.ppf(confidence, events + 1, trials - events))


def _check_counts(events: int, trials: int, confidence: float) -> None:
    if trials <= 0 or not 0 <= events <= trials:
        raise InputError(f"need 0 <= events <= trials and trials > 0, got {events}/{trials}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be between 0 and 1, got {confidence!r}")


class _RateRule:
    """How one rate QI is judged: which bound, which direction, what a clean trial adds."""

    def __init__(self, qi: QiDefinition) -> None:
        self.qi = qi
        self.confidence = qi.confidence if qi.confidence is not None else DEFAULT_CONFIDENCE
        self.at_least = qi.comparator in (">=", ">")
        self.clean_adds_event = qi.success_is == "events"
        self._meets = _COMPARE[qi.comparator]

    def bound(self, events: int, trials: int) -> float:
        if self.at_least:
            return lower_bound(events, trials, self.confidence)
        return upper_bound(events, trials, self.confidence)

    def meets(self, value: float) -> bool:
        return self._meets(value, self.qi.target)

    def bound_after(self, events: int, trials: int, extra: int) -> float:
        added_events = extra if self.clean_adds_event else 0
        return self.bound(events + added_events, trials + extra)

    def more_trials_needed(self, events: int, trials: int) -> int | None:
        """The fewest clean trials after which the bound meets the target, or None."""
        if not self.meets(self.bound_after(events, trials, _MAX_EXTRA_TRIALS)):
            return None
        low, high = 0, 1  # bound at `low` misses, at `high` it is unknown until checked
        while not self.meets(self.bound_after(events, trials, high)):
            low, high = high, high * 2
        while high - low > 1:  # the bound is monotone in clean trials
            middle = (low + high) // 2
            if self.meets(self.bound_after(events, trials, middle)):
                high = middle
            else:
                low = middle
        return high


# --------------------------------------------------------------------------- judging


def judge(
    qi: QiDefinition, value: float | Ratio | None, *, samples: int | None = None
) -> Judgement:
    """Judge one measurement against ``qi``.

    ``value`` is a :class:`Ratio` for rate QIs (counts, not a pre-computed fraction) and a
    number for the others; ``samples`` is how many observations a non-rate value rests on
    (0 makes it inconclusive). For tripwire QIs the verdict says whether the guardrail held:
    PASS when the trip condition is not met, FAIL when it is (the action is in the reason).
    """
    if samples is not None and samples < 0:
        raise InputError(f"samples must be >= 0 for QI {qi.id!r}, got {samples}")
    if qi.kind == "rate":
        return _judge_rate(qi, value, samples)
    return _judge_comparison(qi, value, samples)


def _inconclusive(qi: QiDefinition, reason: str, ratio: Ratio | None = None) -> Judgement:
    return Judgement(
        qi_id=qi.id,
        verdict=Verdict.INCONCLUSIVE,
        value=None,
        unit=qi.unit,
        comparator=qi.comparator,
        threshold=qi.target,
        events=None if ratio is None else ratio.events,
        trials=None if ratio is None else ratio.trials,
        reason=reason,
    )


def _judge_rate(qi: QiDefinition, value: float | Ratio | None, samples: int | None) -> Judgement:
    if value is None:
        return _inconclusive(qi, "no data: nothing was measured, which is never a pass")
    if not isinstance(value, Ratio):
        raise InputError(
            f"QI {qi.id!r} is a rate: pass the counts as Ratio(events=..., trials=...), "
            f"not the bare number {value!r}, so its confidence bound can be computed"
        )
    if samples is not None and samples != value.trials:
        raise InputError(
            f"QI {qi.id!r}: samples={samples} disagrees with Ratio.trials={value.trials}; "
            "a rate takes its volume from the ratio, leave samples out"
        )
    rule = _RateRule(qi)
    if value.trials == 0:
        needed = rule.more_trials_needed(0, 0)
        settle = "" if needed is None else f"; {needed:,} clean trials would settle it"
        return _inconclusive(
            qi, f"zero volume: 0 trials, which is never a pass{settle}", value
        ).model_copy(update={"confidence": rule.confidence, "more_trials_needed": needed})
    events, trials = value.events, value.trials
    point = events / trials
    bound = rule.bound(events, trials)
    failures = trials - events if rule.clean_adds_event else events
    side = "lower" if rule.at_least else "upper"
    level = f"{rule.confidence * 100:g}%"
    counts = f"with {failures:,} {'failure' if failures == 1 else 'failures'} in {trials:,} trials"
    more: int | None = None
    if rule.meets(bound):
        verdict = Verdict.PASS
        reason = (
            f"{side} {level} bound {_num(bound, qi.target)} {qi.comparator} {qi.target:g} {counts}"
        )
    elif not rule.meets(point):
        verdict = Verdict.FAIL
        reason = (
            f"point estimate {_num(point, qi.target)} misses {qi.comparator} {qi.target:g} {counts}"
        )
    else:
        verdict = Verdict.INCONCLUSIVE
        more = rule.more_trials_needed(events, trials)
        settle = (
            f"{more:,} more clean {'trial' if more == 1 else 'trials'} would settle it"
            if more is not None
            else "no feasible number of further trials would settle it"
        )
        reason = (
            f"{side} {level} bound {_num(bound, qi.target)} misses {qi.comparator} "
            f"{qi.target:g} {counts}; {settle}"
        )
    return Judgement(
        qi_id=qi.id,
        verdict=verdict,
        value=point,
        unit=qi.unit,
        comparator=qi.comparator,
        threshold=qi.target,
        events=events,
        trials=trials,
        confidence=rule.confidence,
        bound=bound,
        more_trials_needed=more,
        reason=reason,
    )


def _judge_comparison(
    qi: QiDefinition, value: float | Ratio | None, samples: int | None
) -> Judgement:
    ratio: Ratio | None = None
    if value is None:
        return _inconclusive(qi, "no data: nothing was measured, which is never a pass")
    if isinstance(value, Ratio):
        if qi.unit != "fraction":
            raise InputError(
                f"QI {qi.id!r} is measured in {qi.unit}, not as a fraction: pass a number, "
                f"not Ratio(events={value.events}, trials={value.trials})"
            )
        ratio = value
        if value.trials == 0:
            return _inconclusive(qi, "zero volume: 0 trials, which is never a pass", value)
        measured = value.events / value.trials
    else:
        measured = float(value)
    if samples == 0:
        return _inconclusive(qi, "zero volume: 0 samples behind the value, which is never a pass")
    if math.isnan(measured):
        return _inconclusive(qi, "no usable data: the value is NaN")
    holds = _COMPARE[qi.comparator](measured, qi.target)
    shown = f"{_num(measured, qi.target)} {_unit(qi)}".rstrip()
    rule = f"{qi.comparator} {qi.target:g}"
    if ratio is not None:
        shown += f" ({ratio.events:,} of {ratio.trials:,})"
    if qi.kind == "tripwire":
        window = f" (window {format_duration(qi.window_seconds)})" if qi.window_seconds else ""
        if holds:
            verdict = Verdict.FAIL
            reason = f"tripwire condition met: {shown} {rule}{window} → {qi.action}"
        else:
            verdict = Verdict.PASS
            reason = (
                f"tripwire condition not met: {shown}, fires at {rule}{window}; guardrail holds"
            )
    else:
        verdict = Verdict.PASS if holds else Verdict.FAIL
        reason = f"{shown} {'meets' if holds else 'misses'} {rule}"
    return Judgement(
        qi_id=qi.id,
        verdict=verdict,
        value=measured,
        unit=qi.unit,
        comparator=qi.comparator,
        threshold=qi.target,
        events=None if ratio is None else ratio.events,
        trials=None if ratio is None else ratio.trials,
        reason=reason,
    )


def _unit(qi: QiDefinition) -> str:
    return {"seconds": "s", "days": "days", "count": "", "fraction": "", "ratio": ""}[qi.unit]


def _num(value: float, target: float) -> str:
    """Show a value with two more decimals than the target has, so the comparison is visible."""
    if value == int(value) and target == int(target):
        return f"{int(value):,}" if abs(value) >= 10_000 else f"{int(value)}"
    target_text = f"{target:.12f}".rstrip("0")
    decimals = len(target_text.split(".")[1]) if "." in target_text else 0
    return f"{value:.{max(decimals + 2, 2)}f}"
