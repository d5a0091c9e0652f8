"""After the return: the first order back, the old buying rate, a year without lapsing (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reactivator.core.model import Arm, EnrollmentKind
from reactivator.db.outcomes import EnrollmentRow, OrderRow
from reactivator.service.reporting.after_return import after_return

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def returned(customer: int, dormant_since: datetime, back_at: datetime, amount: int) -> EnrollmentRow:
    return EnrollmentRow(
        id=customer,
        customer_id=customer,
        kind=EnrollmentKind.LADDER,
        arm=Arm.TREATMENT,
        entry_step=0,
        value_class=None,
        status="returned",
        enrolled_at=dormant_since + 100 * DAY,
        dormant_since=dormant_since,
        next_enrolled_at=None,
        return_placed_at=back_at,
        return_amount_cents=amount,
    )


def orders(*days: float) -> list[OrderRow]:
    return [OrderRow(T0 + d * DAY, 1000, 0) for d in days]


def test_a_customer_buying_as_often_as_before_is_back_to_their_rate_and_stayed_a_year() -> None:
    # Monthly for a year before the lapse, then monthly again after coming back.
    before = [30 * k for k in range(13)]  # days 0..360
    back = 500
    after = [back + 30 * k for k in range(14)]  # to day 890
    row = returned(1, T0 + 360 * DAY, T0 + back * DAY, 4200)
    figures = after_return([row], {1: orders(*before, *after)}, dormant_days=90, until=T0 + 900 * DAY)
    assert figures.returned == 1
    assert figures.first_order_average_cents == 4200
    assert (figures.rate_judged, figures.back_to_previous_rate) == (1, 1)
    assert (figures.year_judged, figures.stayed_a_year) == (1, 1)


def test_one_order_after_the_return_is_not_the_old_rate_and_a_long_gap_is_a_lapse() -> None:
    before = [30 * k for k in range(13)]
    back = 500
    row = returned(2, T0 + 360 * DAY, T0 + back * DAY, 1500)
    figures = after_return([row], {2: orders(*before, back)}, dormant_days=90, until=T0 + 900 * DAY)
    assert (figures.rate_judged, figures.back_to_previous_rate) == (1, 0)
    assert (figures.year_judged, figures.stayed_a_year) == (1, 0)


def test_a_recent_return_is_not_judged_yet() -> None:
    row = returned(3, T0 + 360 * DAY, T0 + 500 * DAY, 900)
    figures = after_return([row], {3: orders(0, 360, 500)}, dormant_days=90, until=T0 + 800 * DAY)
    assert figures.returned == 1
    assert figures.first_order_total_cents == 900
    assert figures.rate_judged == 0
    assert figures.year_judged == 0
