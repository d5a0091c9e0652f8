"""Returned means a new purchase: what new orders do to running enrollments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, update

from reactivator.core.model import EnrollmentKind, EnrollmentStatus, LadderState, LetterStatus
from reactivator.core.records import OrderRecord
from reactivator.core.returns import EnrollmentSnapshot, OrderEffect, order_effect
from reactivator.db.dialect import chunks
from reactivator.db.letters import cancel_queued
from reactivator.db.tables import customers, enrollments, letters, orders


@dataclass(frozen=True, slots=True)
class ReturnedCustomer:
    customer_external_id: str
    order_external_id: str
    amount_cents: int
    step_key: str | None


def settle_enrollments(
    conn: Connection,
    changed: list[tuple[OrderRecord, int]],
    letter_of_order: dict[int, int],
    now: datetime,
    attribution: timedelta,
) -> list[ReturnedCustomer]:
    """Apply 'returned means a new purchase' to the enrollments of these customers."""
    customer_ids = list({cid for _, cid in changed})
    running: dict[int, Any] = {}
    for part in chunks(customer_ids):
        query = (
            select(enrollments)
            .where(
                enrollments.c.customer_id.in_(part),
                enrollments.c.status.in_([EnrollmentStatus.ACTIVE.value, EnrollmentStatus.EXHAUSTED.value]),
            )
            .order_by(enrollments.c.enrolled_at)
        )
        for r in conn.execute(query):
            running[r.customer_id] = r  # the latest enrollment wins
    if not running:
        return []
    by_customer: dict[int, list[OrderRecord]] = defaultdict(list)
    for rec, cid in changed:
        if cid in running:
            by_customer[cid].append(rec)
    returned: list[ReturnedCustomer] = []
    for cid, recs in by_customer.items():
        enr = running[cid]
        snapshot = EnrollmentSnapshot(
            status=EnrollmentStatus(enr.status),
            enrolled_at=enr.enrolled_at,
            dormant_since=enr.dormant_since,
            ended_at=enr.ended_at,
        )
        for rec in sorted(recs, key=lambda r: r.placed_at):
            effect = order_effect(rec.placed_at, snapshot, attribution)
            if effect is OrderEffect.RETURNED:
                order_id = order_id_of(conn, rec.external_id)
                step = _credited_step(conn, enr.id, letter_of_order.get(order_id))
                _end_returned(conn, enr, order_id, rec, step, now)
                returned.append(
                    ReturnedCustomer(rec.customer_external_id, rec.external_id, rec.amount_cents, step)
                )
                break
            if effect is OrderEffect.LATE_DATA:
                _end_stale(conn, enr, now)
                break
    return returned


def order_id_of(conn: Connection, external_id: str) -> int:
    return int(conn.execute(select(orders.c.id).where(orders.c.external_id == external_id)).scalar_one())


def _credited_step(conn: Connection, enrollment_id: int, coupon_letter: int | None) -> str | None:
    """The letter credited with a return: the one whose coupon was used, else the last one sent (or held)."""
    if coupon_letter is not None:
        key = conn.execute(
            select(letters.c.step_key).where(
                letters.c.id == coupon_letter, letters.c.enrollment_id == enrollment_id
            )
        ).scalar()
        if key is not None:
            return str(key)
    last = conn.execute(
        select(letters.c.step_key)
        # A control enrollment's letters were held back on their days: its return is
        # credited the same way, to the step it had reached.
        .where(
            letters.c.enrollment_id == enrollment_id,
            letters.c.status.in_([LetterStatus.SENT.value, LetterStatus.HELD.value]),
        )
        .order_by(letters.c.step_index.desc())
        .limit(1)
    ).scalar()
    return None if last is None else str(last)


def _end_returned(
    conn: Connection, enr: Any, order_id: int, rec: OrderRecord, step: str | None, now: datetime
) -> None:
    conn.execute(
        update(enrollments)
        .where(enrollments.c.id == enr.id)
        .values(
            status=EnrollmentStatus.RETURNED.value,
            ended_at=now,
            end_reason="returned: new purchase",
            return_order_id=order_id,
            return_amount_cents=rec.amount_cents,
            return_coupon=rec.coupon_code,
            return_step=step,
        )
    )
    cancel_queued(conn, letters.c.enrollment_id == enr.id, "customer returned")
    conn.execute(
        update(customers)
        .where(customers.c.id == enr.customer_id)
        .values(returned_at=rec.placed_at, updated_at=now)
    )


def _end_stale(conn: Connection, enr: Any, now: datetime) -> None:
    """They had bought before we enrolled them: the enrollment rested on stale data."""
    conn.execute(
        update(enrollments)
        .where(enrollments.c.id == enr.id)
        .values(
            status=EnrollmentStatus.CANCELLED.value,
            ended_at=now,
            end_reason="an earlier purchase arrived late: the customer was not dormant",
        )
    )
    cancel_queued(conn, letters.c.enrollment_id == enr.id, "enrolled on stale purchase data")
    restored: dict[str, Any] = (
        {"ladder_state": LadderState.LADDER.value}
        if enr.kind == EnrollmentKind.APOLOGY.value
        else {"ladder_state": None, "ladder_enrolled_at": None}
    )
    conn.execute(
        update(customers).where(customers.c.id == enr.customer_id).values(**restored, updated_at=now)
    )


def cancel_returns(conn: Connection, order_ids: list[int], now: datetime) -> int:
    """Returns made by these orders (since cancelled or refunded in full) are no returns.

    The enrollment stays ended, as "return cancelled": the customer is not put back on
    the ladder, and the report stops counting the return and its revenue.
    """
    if not order_ids:
        return 0
    changed = 0
    for part in chunks(order_ids):
        rows = conn.execute(
            select(enrollments.c.id, enrollments.c.customer_id).where(
                enrollments.c.return_order_id.in_(part),
                enrollments.c.status == EnrollmentStatus.RETURNED.value,
            )
        ).all()
        if not rows:
            continue
        conn.execute(
            update(enrollments)
            .where(enrollments.c.id.in_([r.id for r in rows]))
            .values(
                status=EnrollmentStatus.RETURN_CANCELLED.value,
                end_reason="return cancelled: the order was cancelled or refunded",
            )
        )
        for customer_id in {r.customer_id for r in rows}:
            _refresh_returned_at(conn, customer_id, now)
        changed += len(rows)
    return changed


def _refresh_returned_at(conn: Connection, customer_id: int, now: datetime) -> None:
    """The customer's latest return that still stands (NULL when none does)."""
    latest = (
        select(func.max(orders.c.placed_at))
        .select_from(enrollments.join(orders, orders.c.id == enrollments.c.return_order_id))
        .where(
            enrollments.c.customer_id == customer_id,
            enrollments.c.status == EnrollmentStatus.RETURNED.value,
        )
        .scalar_subquery()
    )
    conn.execute(
        update(customers).where(customers.c.id == customer_id).values(returned_at=latest, updated_at=now)
    )
