"""What the holdout report reads: the enrollments of a period, and the orders their customers placed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from reactivator.core.model import Arm, EnrollmentKind, LetterStatus, ValueClass
from reactivator.core.order_status import OrderStatus
from reactivator.db.tables import enrollments, letters, orders, survey_answers

# End reasons of enrollments that never ran: the customer had bought before, we learnt it late.
NEVER_RAN = ("bought while being enrolled", "an earlier purchase arrived late: the customer was not dormant")


@dataclass(frozen=True, slots=True)
class EnrollmentRow:
    id: int
    customer_id: int
    kind: EnrollmentKind
    arm: Arm | None
    entry_step: int
    value_class: ValueClass | None
    status: str
    enrolled_at: datetime
    dormant_since: datetime
    next_enrolled_at: datetime | None
    return_placed_at: datetime | None = None  # the order that marked the return, if any
    return_amount_cents: int | None = None


@dataclass(frozen=True, slots=True)
class OrderRow:
    placed_at: datetime
    amount_cents: int
    discount_percent: int  # of the letter whose coupon paid for it (0: no coupon)


def next_enrollment_start() -> Any:
    """When the customer of each `enrollments` row enrolled next (NULL: not since), as a subquery.

    A customer's orders belong to one enrollment at a time: up to their next one.
    """
    following = enrollments.alias("following")
    return (
        select(func.min(following.c.enrolled_at))
        .where(following.c.customer_id == enrollments.c.customer_id)
        .where(following.c.enrolled_at > enrollments.c.enrolled_at)
        .scalar_subquery()
    )


def enrollments_between(
    conn: Connection, campaign: str, since: datetime | None, until: datetime
) -> list[EnrollmentRow]:
    """The campaign's enrollments that started in [since, until), with when each customer enrolled next."""
    next_start = next_enrollment_start()
    returned_by = orders.alias("return_order")
    query = select(
        enrollments,
        next_start.label("next_enrolled_at"),
        returned_by.c.placed_at.label("return_placed_at"),
    ).select_from(enrollments.outerjoin(returned_by, returned_by.c.id == enrollments.c.return_order_id))
    query = query.where(
        enrollments.c.campaign == campaign,
        enrollments.c.enrolled_at < until,
        # Enrollments made on purchase data that turned out stale never ran for either arm.
        or_(enrollments.c.end_reason.is_(None), enrollments.c.end_reason.not_in(NEVER_RAN)),
    )
    if since is not None:
        query = query.where(enrollments.c.enrolled_at >= since)
    return [
        EnrollmentRow(
            id=r.id,
            customer_id=r.customer_id,
            kind=EnrollmentKind(r.kind),
            arm=Arm(r.arm) if r.arm else None,
            entry_step=r.entry_step,
            value_class=ValueClass(r.value_class) if r.value_class else None,
            status=r.status,
            enrolled_at=r.enrolled_at,
            dormant_since=r.dormant_since,
            next_enrolled_at=r.next_enrolled_at,
            return_placed_at=r.return_placed_at,
            return_amount_cents=r.return_amount_cents,
        )
        for r in conn.execute(query.order_by(enrollments.c.id))
    ]


def orders_since(
    conn: Connection, customer_ids: set[int], since: datetime | None
) -> dict[int, list[OrderRow]]:
    """Each of these customers' orders placed at or after `since` (all with None), in time order."""
    found: dict[int, list[OrderRow]] = defaultdict(list)
    if not customer_ids:
        return found
    query = (
        select(
            orders.c.customer_id,
            orders.c.placed_at,
            orders.c.amount_cents,
            func.coalesce(letters.c.discount_percent, 0).label("discount_percent"),
        )
        .select_from(orders.outerjoin(letters, letters.c.id == orders.c.letter_id))
        .where(orders.c.status == OrderStatus.PLACED.value)  # cancelled and refunded orders earn nothing
        .order_by(orders.c.customer_id, orders.c.placed_at)
    )
    if since is not None:
        query = query.where(orders.c.placed_at >= since)
    for r in conn.execution_options(yield_per=5000).execute(query):
        if r.customer_id in customer_ids:
            found[r.customer_id].append(OrderRow(r.placed_at, int(r.amount_cents), int(r.discount_percent)))
    return found


def letters_sent(conn: Connection, campaign: str) -> dict[int, int]:
    """Letters that went out, per enrollment."""
    query = (
        select(letters.c.enrollment_id, func.count())
        .where(letters.c.campaign == campaign, letters.c.status == LetterStatus.SENT.value)
        .group_by(letters.c.enrollment_id)
    )
    return {int(e): int(n) for e, n in conn.execute(query)}


@dataclass(frozen=True, slots=True)
class SurveyCount:
    reason: str
    step_key: str
    kind: EnrollmentKind
    entry_step: int
    answers: int


def survey_counts(
    conn: Connection, campaign: str, since: datetime | None, until: datetime
) -> list[SurveyCount]:
    """Answers to "why did you stop buying?" per reason, per the letter's step and the entry tier."""
    query = (
        select(
            survey_answers.c.reason,
            letters.c.step_key,
            enrollments.c.kind,
            enrollments.c.entry_step,
            func.count(),
        )
        .select_from(
            survey_answers.join(letters, letters.c.id == survey_answers.c.letter_id).join(
                enrollments, enrollments.c.id == letters.c.enrollment_id
            )
        )
        .where(letters.c.campaign == campaign, survey_answers.c.at < until)
        .group_by(survey_answers.c.reason, letters.c.step_key, enrollments.c.kind, enrollments.c.entry_step)
    )
    if since is not None:
        query = query.where(survey_answers.c.at >= since)
    return [SurveyCount(r, s, EnrollmentKind(k), int(e), int(n)) for r, s, k, e, n in conn.execute(query)]
