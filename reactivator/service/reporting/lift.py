"""What the letters caused: treatment against control, with 95% intervals and the sample a lift needs.

The statistics come from statsmodels, not from formulas written here:
- the lift in return rate (treatment minus control) gets Newcombe's hybrid
  score interval, which keeps its coverage with few returns or a small control;
- the relative lift (treatment rate / control rate - 1) the log interval of the
  rate ratio, with the usual 0.5 adjustment when a group has no returns;
- revenue per enrolled customer is compared by Welch's t interval of the
  difference in means (revenue is skewed and the arms differ in size and
  spread); incremental revenue is that difference times the treated customers;
- the enrolled customers a lift of the observed size would need: the normal
  power analysis of two proportions (Cohen's h), at 80% power and a 5% level,
  with the arms in the holdout's ratio.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

ALPHA = 0.05
POWER = 0.8


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate and its 95% confidence interval."""

    value: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True, slots=True)
class ArmOutcome:
    """One arm of one group: who enrolled, who came back, what they spent in their windows."""

    enrolled: int
    returned: int
    revenue_cents: int
    revenues: tuple[int, ...] = ()  # per enrolled customer, for the interval of the difference

    @property
    def return_rate(self) -> float | None:
        return self.returned / self.enrolled if self.enrolled else None

    @property
    def revenue_per_enrolled_cents(self) -> float | None:
        return self.revenue_cents / self.enrolled if self.enrolled else None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Treatment against control for one group of enrollments."""

    return_rate_lift: Interval | None  # absolute, as a fraction (0.05 = 5 points)
    relative_lift: Interval | None  # treatment rate / control rate - 1
    incremental_revenue_cents: Interval | None  # over all treated customers of the group
    significant: bool  # the return-rate interval excludes 0
    more_needed: int | None  # enrolled customers still needed to detect a lift this size; None: n/a


def arm_outcome(returned_flags: Sequence[bool], revenues: Sequence[int]) -> ArmOutcome:
    return ArmOutcome(len(revenues), sum(returned_flags), sum(revenues), tuple(revenues))


def compare(treatment: ArmOutcome, control: ArmOutcome) -> Comparison:
    """The lift of the treatment over the control, with intervals, if both arms have customers."""
    if treatment.enrolled < 2 or control.enrolled < 2:
        return Comparison(None, None, None, False, None)
    rate = _rate_difference(treatment, control)
    relative = _rate_ratio(treatment, control)
    revenue = _revenue_difference(treatment, control)
    significant = rate.excludes_zero
    more = None if significant else more_needed(treatment, control)
    return Comparison(rate, relative, revenue, significant, more)


def _rate_difference(t: ArmOutcome, c: ArmOutcome) -> Interval:
    low, high = confint_proportions_2indep(
        t.returned, t.enrolled, c.returned, c.enrolled, compare="diff", method="newcomb", alpha=ALPHA
    )
    return Interval(t.returned / t.enrolled - c.returned / c.enrolled, float(low), float(high))


def _rate_ratio(t: ArmOutcome, c: ArmOutcome) -> Interval | None:
    if c.returned == 0 and t.returned == 0:
        return None
    low, high = confint_proportions_2indep(
        t.returned, t.enrolled, c.returned, c.enrolled, compare="ratio", method="log-adjusted", alpha=ALPHA
    )
    control_rate = c.returned / c.enrolled
    point = (t.returned / t.enrolled) / control_rate - 1 if control_rate else math.inf
    return Interval(point, float(low) - 1, float(high) - 1)


def _revenue_difference(t: ArmOutcome, c: ArmOutcome) -> Interval:
    treated = np.asarray(t.revenues, dtype=float)
    held = np.asarray(c.revenues, dtype=float)
    diff = float(treated.mean() - held.mean())
    if treated.std() == 0 and held.std() == 0:
        low = high = diff  # no spread at all (nobody bought, say): nothing to be uncertain about
    else:
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            # One arm without spread is fine for Welch's interval; statsmodels warns on its way there.
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = CompareMeans(DescrStatsW(treated), DescrStatsW(held)).tconfint_diff(
                alpha=ALPHA, usevar="unequal"
            )
    n = t.enrolled
    return Interval(diff * n, float(low) * n, float(high) * n)


def more_needed(t: ArmOutcome, c: ArmOutcome) -> int | None:
    """How many more enrolled customers (both arms, in today's ratio) a lift of this size needs.

    None when no positive lift is seen: no sample size makes a zero or negative effect significant.
    """
    pt, pc = t.returned / t.enrolled, c.returned / c.enrolled
    if pt <= pc:
        return None
    effect = float(proportion_effectsize(pt, pc))
    ratio = c.enrolled / t.enrolled
    treated_needed = NormalIndPower().solve_power(
        effect_size=effect, alpha=ALPHA, power=POWER, ratio=ratio, alternative="two-sided"
    )
    total_needed = float(treated_needed) * (1 + ratio)
    return max(0, math.ceil(total_needed - t.enrolled - c.enrolled))
