"""Is a traffic split the suite measured consistent with the weight the scenario set?

An exact two-sided binomial test by inversion of the Clopper–Pearson interval (the one-sided
bounds of `policy.verdict`, each at half the error): the split is consistent when the weight
lies inside the interval of the observed share. The sample size and confidence of every split
check live here (docs/verification-power.md), so a wrong weight is detectable everywhere alike.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pytest_mc.errors import InputError
from pytest_mc.policy.verdict import lower_bound, upper_bound

# Two-sided confidence of a split check: a correct target fails one check in 1,000.
SPLIT_CONFIDENCE = 0.999
# Requests the suite sends through the GLB per split check. At 400 and 99.9%, a share off
# its weight by 0.15 or more (e.g. 35% against 20%, 35% or 65% against 50%) is caught with
# probability above 0.99 (`rejection_probability`); one stray request fails a weight of 0 or 1.
SPLIT_SAMPLE_REQUESTS = 400


class SplitTest(BaseModel):
    """One region's share of the responses, judged against its weight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: str
    weight: float = Field(ge=0, le=1, description="the share the scenario or catalog sets")
    served: int = Field(ge=0, description="responses served by the region")
    requests: int = Field(gt=0, description="responses whose serving region was known")
    confidence: float
    lower: float
    upper: float

    @property
    def share(self) -> float:
        return self.served / self.requests

    @property
    def consistent(self) -> bool:
        return self.lower <= self.weight <= self.upper

    def describe(self) -> str:
        return (
            f"{self.region} served {self.served} of {self.requests} responses ({self.share:.1%}); "
            f"weight {self.weight:.0%} is {'inside' if self.consistent else 'outside'} the exact "
            f"{self.confidence:.1%} interval [{self.lower:.1%}, {self.upper:.1%}]"
        )


def interval(
    served: int, requests: int, confidence: float = SPLIT_CONFIDENCE
) -> tuple[float, float]:
    """The exact two-sided Clopper–Pearson interval of `served / requests`."""
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be between 0 and 1, got {confidence!r}")
    one_sided = 1.0 - (1.0 - confidence) / 2.0
    return (
        lower_bound(served, requests, one_sided),
        upper_bound(served, requests, one_sided),
    )


def judge_split(
    region: str,
    weight: float,
    served: int,
    requests: int,
    confidence: float = SPLIT_CONFIDENCE,
) -> SplitTest:
    """Judge `served` of `requests` responses from `region` against its `weight`."""
    if not 0.0 <= weight <= 1.0:
        raise InputError(f"weight of {region} must be a share between 0 and 1, got {weight!r}")
    lower, upper = interval(served, requests, confidence)
    return SplitTest(
        region=region,
        weight=weight,
        served=served,
        requests=requests,
        confidence=confidence,
        lower=lower,
        upper=upper,
    )


def rejection_probability(
    weight: float,
    true_share: float,
    requests: int = SPLIT_SAMPLE_REQUESTS,
    confidence: float = SPLIT_CONFIDENCE,
) -> float:
    """The probability that a check of `weight` fails when the region really serves
    `true_share`: the test's size at `true_share == weight`, its power elsewhere."""
    from scipy.stats import binom  # imported here: scipy is slow to import and rarely needed

    probability = 0.0
    for served in range(requests + 1):
        lower, upper = interval(served, requests, confidence)
        if not lower <= weight <= upper:
            probability += float(binom.pmf(served, requests, true_share))
    return probability
