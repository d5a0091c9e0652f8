"""After the return: did the returned customers stay, and buy as they used to?

- first order back: the order that marked the return;
- back to their buying rate: as many orders in the year after the return as in
  the year before the lapse (the last purchase before they were enrolled);
  judged once the return is a year old, so that one quick order does not look
  like a habit and both spans are the same length;
- a year without lapsing again: of those who returned at least a year ago, how
  many never went as long without buying as the campaign calls dormant, within
  the year after the return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from reactivator.db.outcomes import EnrollmentRow, OrderRow

YEAR = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class AfterReturn:
    returned: int
    first_order_total_cents: int
    first_order_average_cents: int | None
    rate_judged: int  # returned at least a year ago, with orders before the lapse
    back_to_previous_rate: int
    year_judged: int  # returned at least a year ago
    stayed_a_year: int


def after_return(
    returns: list[EnrollmentRow], orders: dict[int, list[OrderRow]], dormant_days: int, until: datetime
) -> AfterReturn:
    """The longer-term figures of these returned enrollments (each with its return order)."""
    back = judged = stayed = year_judged = 0
    firsts = [r.return_amount_cents or 0 for r in returns]
    lapse = timedelta(days=dormant_days)
    for r in returns:
        assert r.return_placed_at is not None
        back_at = r.return_placed_at
        mine = [o.placed_at for o in orders.get(r.customer_id, ())]
        year_before = [t for t in mine if r.dormant_since - YEAR < t <= r.dormant_since]
        year_after = [t for t in mine if back_at <= t < back_at + YEAR]
        if until - back_at >= YEAR and year_before:
            judged += 1
            back += len(year_after) >= len(year_before)
        if until - back_at >= YEAR:
            year_judged += 1
            year_end = back_at + YEAR
            stamps = [t for t in mine if back_at <= t < year_end] + [year_end]
            gaps = (later - earlier for earlier, later in pairwise(stamps))
            stayed += all(gap < lapse for gap in gaps)
    return AfterReturn(
        returned=len(returns),
        first_order_total_cents=sum(firsts),
        first_order_average_cents=round(sum(firsts) / len(firsts)) if firsts else None,
        rate_judged=judged,
        back_to_previous_rate=back,
        year_judged=year_judged,
        stayed_a_year=stayed,
    )
