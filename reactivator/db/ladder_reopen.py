"""Customers who walked the whole ladder when it was shorter: after steps are added at its end,
their finished enrollment may walk on (`reactivator reopen`)."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from reactivator.core.model import EnrollmentKind, EnrollmentStatus, Subscription
from reactivator.db.tables import customers, enrollments


def finished_short(conn: Connection, ladder_length: int) -> list[int]:
    """Enrollments that ran out of steps before the ladder grew to `ladder_length`: each the
    customer's latest, not returned, the customer still subscribed and with no purchase since."""
    later = enrollments.alias("later")
    newer = (
        select(later.c.id)
        .where(
            later.c.customer_id == enrollments.c.customer_id, later.c.enrolled_at > enrollments.c.enrolled_at
        )
        .exists()
    )
    query = (
        select(enrollments.c.id)
        .join(customers, customers.c.id == enrollments.c.customer_id)
        .where(
            enrollments.c.kind == EnrollmentKind.LADDER.value,
            enrollments.c.status == EnrollmentStatus.EXHAUSTED.value,
            enrollments.c.next_step < ladder_length,
            customers.c.subscription == Subscription.SUBSCRIBED.value,
            customers.c.last_purchase_at.is_not(None),
            customers.c.last_purchase_at <= enrollments.c.enrolled_at,  # no purchase since
            ~newer,
        )
    )
    return list(conn.execute(query).scalars())


def reopen(conn: Connection, enrollment_ids: list[int]) -> int:
    """Let these enrollments walk on from the step they stopped before."""
    if not enrollment_ids:
        return 0
    return int(
        conn.execute(
            update(enrollments)
            .where(
                enrollments.c.id.in_(enrollment_ids), enrollments.c.status == EnrollmentStatus.EXHAUSTED.value
            )
            .values(status=EnrollmentStatus.ACTIVE.value, ended_at=None, end_reason=None)
        ).rowcount
    )
