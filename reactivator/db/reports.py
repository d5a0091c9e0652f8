"""Read-side queries: the dormant segments and what the campaign earned."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from reactivator.core.model import EnrollmentStatus, LetterStatus, Subscription
from reactivator.core.order_status import OrderStatus
from reactivator.core.value import ClassCutoffs
from reactivator.db.outcomes import next_enrollment_start
from reactivator.db.step_activity import in_period, treated
from reactivator.db.tables import customers, enrollments, letters, orders
from reactivator.db.types import unindexed


def returned_in(campaign: str, since: datetime | None, until: datetime | None) -> list[Any]:
    """Treated enrollments of the campaign that ended returned in [since, until)."""
    return [
        enrollments.c.campaign == campaign,
        enrollments.c.status == EnrollmentStatus.RETURNED.value,
        treated(),
        *in_period(enrollments.c.ended_at, since, until),
    ]


@dataclass(frozen=True, slots=True)
class TierRow:
    tier_index: int
    customers: int
    annual_value_cents: int
    reachable: int | None = None  # the detail columns, only when asked for
    class_a: int | None = None
    class_b: int | None = None


def dormant_tiers(
    conn: Connection, cutoffs: tuple[datetime, ...], classes: ClassCutoffs | None = None
) -> list[TierRow]:
    """Customers per tier (tier i: dormant since cutoffs[i], before the next).

    One range scan of the dormancy index per tier: no table access, no grouping.
    With `classes`, also how many can be mailed and the A/B split (slower: more
    of each index entry is read).
    """
    lp = customers.c.last_purchase_at
    value = customers.c.annual_value_cents
    rows = []
    for i, upper in enumerate(cutoffs):
        where = [lp <= upper] + ([lp > cutoffs[i + 1]] if i + 1 < len(cutoffs) else [])
        columns: list[Any] = [func.count(), func.sum(value)]
        if classes is not None:
            columns += [
                func.sum(case((customers.c.subscription == Subscription.SUBSCRIBED.value, 1), else_=0)),
                func.sum(case((value >= classes.a_min, 1), else_=0)),
                func.sum(case((and_(value >= classes.b_min, value < classes.a_min), 1), else_=0)),
            ]
        counts = conn.execute(select(*columns).where(*where)).one()
        rows.append(TierRow(i, *(int(x or 0) for x in counts)))
    return rows


def returned_and_active(conn: Connection, first_cutoff: datetime) -> int:
    """Customers who came back and have bought within the first tier: the fragile ones."""
    query = (
        select(func.count())
        .select_from(customers)
        # The returned are few: walk their partial index, not half the customers.
        .where(
            customers.c.returned_at.is_not(None),
            unindexed(customers.c.last_purchase_at, type_=customers.c.last_purchase_at.type) > first_cutoff,
        )
    )
    return int(conn.execute(query).scalar_one())


@dataclass(frozen=True, slots=True)
class StepFigures:
    """What the database counts for one step: its letters by state, who came back and their money."""

    step_key: str
    queued: int = 0
    sent: int = 0
    cancelled: int = 0
    failed: int = 0
    returned: int = 0
    return_revenue_cents: int = 0
    revenue_since_return_cents: int = 0


@dataclass(frozen=True, slots=True)
class CouponOrder:
    step_key: str
    paid_cents: int
    discount_percent: int


@dataclass(frozen=True)
class CampaignFigures:
    steps: dict[str, StepFigures]
    returned_without_letter: int
    coupon_orders: list[CouponOrder]


def campaign_figures(
    conn: Connection, campaign: str, since: datetime | None = None, until: datetime | None = None
) -> CampaignFigures:
    """Per-step counts and money, and each order paid with a letter's coupon (letters queued and
    returns made in [since, until); the control group's held letters and returns are not here)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    per_status = (
        select(letters.c.step_key, letters.c.status, func.count())
        .where(
            letters.c.campaign == campaign,
            letters.c.status != LetterStatus.HELD.value,
            *in_period(letters.c.queued_at, since, until),
        )
        .group_by(letters.c.step_key, letters.c.status)
    )
    for key, status, n in conn.execute(per_status):
        step = counts[key]
        step["queued"] += n
        if status == LetterStatus.SENT.value:
            step["sent"] += n
        elif status == LetterStatus.CANCELLED.value:
            step["cancelled"] += n
        elif status in (LetterStatus.FAILED.value, LetterStatus.EXPIRED.value):
            step["failed"] += n

    ro = orders.alias("return_order")
    later = orders.alias("later")
    # Revenue after a return counts until the customer's next enrollment, so a
    # customer who comes back twice is not credited twice for the same orders.
    next_start = next_enrollment_start()
    returned_q = (
        select(
            enrollments.c.return_step,
            func.count(func.distinct(enrollments.c.id)),
            func.sum(later.c.amount_cents),
        )
        .select_from(
            enrollments.join(ro, ro.c.id == enrollments.c.return_order_id).join(
                later,
                and_(
                    later.c.customer_id == enrollments.c.customer_id,
                    later.c.placed_at >= ro.c.placed_at,
                    later.c.status == OrderStatus.PLACED.value,
                    or_(next_start.is_(None), later.c.placed_at < next_start),
                ),
            )
        )
        .where(*returned_in(campaign, since, until))
        .group_by(enrollments.c.return_step)
    )
    first_q = (
        select(enrollments.c.return_step, func.sum(enrollments.c.return_amount_cents))
        .where(*returned_in(campaign, since, until))
        .group_by(enrollments.c.return_step)
    )
    firsts = {k: int(v or 0) for k, v in conn.execute(first_q)}
    without_letter = 0
    for key, n, after_return in conn.execute(returned_q):
        if key is None:
            without_letter += int(n)
            continue
        step = counts[key]
        step["returned"] += int(n)
        step["revenue_since_return_cents"] += int(after_return or 0)
        step["return_revenue_cents"] += firsts.get(key, 0)

    coupons = (
        select(letters.c.step_key, orders.c.amount_cents, letters.c.discount_percent)
        .select_from(orders.join(letters, letters.c.id == orders.c.letter_id))
        .where(
            letters.c.campaign == campaign,
            orders.c.status == OrderStatus.PLACED.value,
            *in_period(orders.c.placed_at, since, until),
        )
    )
    return CampaignFigures(
        steps={key: StepFigures(key, **step) for key, step in counts.items()},
        returned_without_letter=without_letter,
        coupon_orders=[CouponOrder(k, int(a), int(p)) for k, a, p in conn.execute(coupons)],
    )
