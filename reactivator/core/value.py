"""Customer value: an estimated lifetime value and an A/B/C class.

Lifetime value = average order value x orders per year x expected years.
Average order value x orders per year is simply revenue per year of the
relationship, so we store that (``annual_value_cents``) and multiply by the
configured expected years when reporting. The relationship is measured from
first to last purchase, and counted as at least one year, so a single order
is not mistaken for a huge yearly rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from reactivator.core.model import ValueClass

DAYS_PER_YEAR = 365.25
MIN_TENURE_DAYS = DAYS_PER_YEAR


def annual_value_cents(revenue_cents: int, first: datetime | None, last: datetime | None) -> int:
    """Revenue per year of the relationship, in cents."""
    if first is None or last is None or revenue_cents <= 0:
        return 0
    tenure_days = max((last - first).total_seconds() / 86400, MIN_TENURE_DAYS)
    return round(revenue_cents * DAYS_PER_YEAR / tenure_days)


def lifetime_value_cents(annual_cents: int, expected_years: float) -> int:
    """Estimated lifetime value: yearly revenue times the years a customer is expected to stay."""
    return round(annual_cents * expected_years)


@dataclass(frozen=True, slots=True)
class ClassCutoffs:
    """The least annual value that makes class A and class B."""

    a_min: int
    b_min: int

    def classify(self, annual_cents: int) -> ValueClass:
        if annual_cents >= self.a_min:
            return ValueClass.A
        if annual_cents >= self.b_min:
            return ValueClass.B
        return ValueClass.C


def rank_positions(buyers: int, a_share: float, b_share: float) -> tuple[int, int]:
    """0-based positions, in descending value order, of the last A and last B customer."""
    a_last = max(round(buyers * a_share), 1) - 1
    b_last = max(round(buyers * (a_share + b_share)), 1) - 1
    return a_last, max(b_last, a_last)


def class_cutoffs(values_desc: Sequence[int], a_share: float, b_share: float) -> ClassCutoffs:
    """Cutoffs from values sorted high to low: the top a_share is A, the next b_share is B."""
    if not values_desc:
        return ClassCutoffs(a_min=1, b_min=1)
    a_last, b_last = rank_positions(len(values_desc), a_share, b_share)
    # A customer worth nothing is class C, however many share that rank.
    return ClassCutoffs(a_min=max(values_desc[a_last], 1), b_min=max(values_desc[b_last], 1))
