"""After the return: did the returned customers stay, and buy as they used to?

- first order back: the order that marked the return;
- back to their buying rate: orders per year since the return against orders
  per year before the lapse (a relationship shorter than a year counts as one
  year, as the value estimate does); judged once the return is at least
  `RATE_AFTER_DAYS` old, so that one quick order does not look like a habit;
- a year without lapsing again: of those who returned at least a year ago, how
  many never went as long without buying as the campaign calls dormant, within
  the year after the return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from reactivator.db.outcomes import EnrollmentRow, OrderRow

RATE_AFTER_DAYS = 180
YEAR = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class AfterReturn:
    returned: int
    first_order_total_cents: int
    first_order_average_cents: int | None
    rate_judged: int  # returned at least RATE_AFTER_DAYS ago
    back_to_previous_rate: int
    year_judged: int  # returned at least a year ago
    stayed_a_year: int


def _orders_per_year(count: int, span: timedelta) -> float:
    return count / max(span / YEAR, 1.0)


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
        end = min(until, r.next_enrolled_at) if r.next_enrolled_at else until
        before = [t for t in mine if t <= r.dormant_since]
        since = [t for t in mine if back_at <= t < end]
        if until - back_at >= timedelta(days=RATE_AFTER_DAYS) and before:
            judged += 1
            rate_before = _orders_per_year(len(before), r.dormant_since - before[0])
            rate_since = len(since) / ((end - back_at) / YEAR)
            back += rate_since >= rate_before
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
