"""A real pass, set-based: enroll newcomers, queue each due letter, advance enrollments.

Every statement is an INSERT ... SELECT or UPDATE over the plan query, so the
work happens inside the database whether one customer is due or a million.
Re-running a pass is harmless: one active enrollment per customer and one
letter per (enrollment, step) are unique keys, and conflicts are skipped.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, exists, func, literal, select, text, update
from sqlalchemy.exc import IntegrityError

from reactivator.core.coupons import new_coupon_code
from reactivator.core.model import (
    Arm,
    EnrollmentKind,
    EnrollmentStatus,
    LadderState,
    LetterStatus,
    Policy,
    Subscription,
)
from reactivator.db.coupons import pool_steps, take_codes
from reactivator.db.dialect import insert_for
from reactivator.db.letters import cancel_queued
from reactivator.db.planner import PlanQuery, step_values
from reactivator.db.tables import customers, enrollments, letters


@dataclass(frozen=True, slots=True)
class PassWrites:
    ended_unreachable: int
    enrolled: int
    queued: int  # every letter this pass recorded, the held ones included
    held: int = 0  # of them, held back for the control group


# One pass at a time over the whole fleet: a PostgreSQL advisory lock held for the
# pass's transaction ("reac" in ASCII). On SQLite the write transaction is exclusive anyway.
_PASS_LOCK = 0x72656163

HELD_REASON = "held back: control group"


def take_pass_lock(conn: Connection, campaign: str, *, wait: bool) -> bool:
    """Hold the fleet's lock on `campaign`'s passes until the transaction ends; False if another
    pass of the campaign holds it."""
    if conn.dialect.name != "postgresql":
        return True
    key = {"key": _PASS_LOCK, "campaign": campaign}
    if wait:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key, hashtext(:campaign))"), key)
        return True
    return bool(
        conn.execute(text("SELECT pg_try_advisory_xact_lock(:key, hashtext(:campaign))"), key).scalar()
    )


def end_unreachable(conn: Connection, now: datetime) -> int:
    """End running enrollments of customers who can no longer be mailed (defensive sweep)."""
    unreachable = select(customers.c.id).where(customers.c.subscription != Subscription.SUBSCRIBED.value)
    ended = conn.execute(
        update(enrollments)
        .where(enrollments.c.status == EnrollmentStatus.ACTIVE.value)
        .where(enrollments.c.customer_id.in_(unreachable))
        .values(status=EnrollmentStatus.UNSUBSCRIBED.value, ended_at=now, end_reason="customer unreachable")
    ).rowcount
    cancel_queued(conn, letters.c.customer_id.in_(unreachable), "customer unreachable")
    return int(ended)


def run_pass(
    conn: Connection,
    plan: PlanQuery,
    policy: Policy,
    *,
    coupon_expiry: timedelta,
    coupon_prefix: str,
    message_domain: str,
) -> PassWrites:
    """Apply one pass inside the caller's write transaction."""
    now = plan.p.now
    swept = end_unreachable(conn, now)
    ins = insert_for(conn)

    due = plan.due().subquery()
    enroll = (
        ins(enrollments)
        .from_select(
            [
                "customer_id",
                "campaign",
                "kind",
                "status",
                "enrolled_at",
                "dormant_since",
                "entry_step",
                "next_step",
                "arm",
                "value_class",
            ],
            select(
                due.c.customer_id,
                literal(plan.campaign),
                due.c.kind,
                literal(EnrollmentStatus.ACTIVE.value),
                literal(now, enrollments.c.enrolled_at.type),
                due.c.last_purchase_at,
                due.c.step_index,
                due.c.step_index,
                due.c.arm,
                due.c.value_class,
            ).where(due.c.enrollment_id.is_(None)),
        )
        .on_conflict_do_nothing()
    )
    enrolled = conn.execute(enroll.execution_options(preserve_rowcount=True)).rowcount
    enrolled -= _drop_stale_enrollments(conn, now)
    _mark_ladder_history(conn, now)

    # The plan again, now that newcomers have their enrollment: every due letter.
    # A control enrollment's letter is recorded on its day, held back: never sent.
    due = plan.due().subquery()
    step_key, discount = step_values(policy, due.c.kind, due.c.step_index)
    held = due.c.arm == Arm.CONTROL.value
    queue = (
        ins(letters)
        .from_select(
            [
                "enrollment_id",
                "customer_id",
                "campaign",
                "kind",
                "step_index",
                "step_key",
                "discount_percent",
                "status",
                "queued_at",
                "send_after",
                "ended_reason",
            ],
            select(
                due.c.enrollment_id,
                due.c.customer_id,
                literal(plan.campaign),
                due.c.kind,
                due.c.step_index,
                step_key,
                discount,
                case((held, LetterStatus.HELD.value), else_=LetterStatus.QUEUED.value),
                literal(now, letters.c.queued_at.type),
                due.c.send_after,
                case((held, HELD_REASON), else_=None),
            ).where(due.c.enrollment_id.is_not(None)),
        )
        .on_conflict_do_nothing()
    )
    queued = conn.execute(queue.execution_options(preserve_rowcount=True)).rowcount
    _advance_enrollments(conn, policy, now)
    # Held letters count for pacing too: both arms keep the same timeline.
    made_now = and_(
        letters.c.queued_at == now, letters.c.status.in_([LetterStatus.QUEUED.value, LetterStatus.HELD.value])
    )
    conn.execute(
        update(customers)
        .where(customers.c.id.in_(select(letters.c.customer_id).where(made_now)))
        .values(last_letter_at=now, updated_at=now)
    )
    _assign_codes(conn, now, coupon_expiry, coupon_prefix, message_domain)
    held_now = conn.execute(
        select(func.count()).where(letters.c.queued_at == now, letters.c.status == LetterStatus.HELD.value)
    ).scalar_one()
    return PassWrites(ended_unreachable=swept, enrolled=int(enrolled), queued=int(queued), held=int(held_now))


def _queued_now(now: datetime) -> Any:
    return and_(letters.c.queued_at == now, letters.c.status == LetterStatus.QUEUED.value)


def _drop_stale_enrollments(conn: Connection, now: datetime) -> int:
    """Cancel enrollments made this pass for customers whose purchase committed meanwhile.

    On PostgreSQL a purchase can commit between the plan's read and the insert;
    such a customer is not dormant, so the new enrollment is dropped, not mailed.
    """
    bought_since = (
        select(customers.c.id)
        .where(customers.c.id == enrollments.c.customer_id)
        .where(customers.c.last_purchase_at > enrollments.c.dormant_since)
        .exists()
    )
    dropped = conn.execute(
        update(enrollments)
        .where(enrollments.c.enrolled_at == now, enrollments.c.status == EnrollmentStatus.ACTIVE.value)
        .where(bought_since)
        .values(
            status=EnrollmentStatus.CANCELLED.value, ended_at=now, end_reason="bought while being enrolled"
        )
        .execution_options(preserve_rowcount=True)
    ).rowcount
    return int(dropped)


def _mark_ladder_history(conn: Connection, now: datetime) -> None:
    """Remember on the customer that they entered the ladder (or got their apology)."""
    for kind, state in (
        (EnrollmentKind.LADDER, LadderState.LADDER),
        (EnrollmentKind.APOLOGY, LadderState.APOLOGY),
    ):
        entered = select(enrollments.c.customer_id).where(
            enrollments.c.enrolled_at == now,
            enrollments.c.kind == kind.value,
            enrollments.c.status == EnrollmentStatus.ACTIVE.value,
        )
        values: dict[str, Any] = {"ladder_state": state.value, "updated_at": now}
        if kind is EnrollmentKind.LADDER:
            values["ladder_enrolled_at"] = now  # the apology keeps the ladder's date
        conn.execute(update(customers).where(customers.c.id.in_(entered)).values(**values))


def _advance_enrollments(conn: Connection, policy: Policy, now: datetime) -> None:
    """Move every enrollment whose current step now has its letter to the next step."""
    e = enrollments
    has_letter = exists().where(letters.c.enrollment_id == e.c.id, letters.c.step_index == e.c.next_step)
    # core.ladder.advance, for every enrollment at once: the next step, done past the ladder's end.
    length = case({kind.value: policy.ladder_length(kind) for kind in EnrollmentKind}, value=e.c.kind)
    done = e.c.next_step + 1 >= length
    conn.execute(
        update(e)
        .where(e.c.status == EnrollmentStatus.ACTIVE.value, has_letter)
        .values(
            next_step=e.c.next_step + 1,
            last_letter_at=now,
            status=case((done, EnrollmentStatus.EXHAUSTED.value), else_=e.c.status),
            ended_at=case((done, literal(now, e.c.ended_at.type)), else_=e.c.ended_at),
            end_reason=case((done, "ladder exhausted"), else_=e.c.end_reason),
        )
    )


def _assign_codes(
    conn: Connection, now: datetime, expiry: timedelta, prefix: str, domain: str, chunk: int = 5000
) -> None:
    """Give each new letter its Message-ID and, if it carries a discount, its own coupon: from the
    step's pool where the shop loaded one (a letter the pool cannot serve waits for more codes),
    else a code made here."""
    rows = conn.execute(
        select(letters.c.id, letters.c.discount_percent, letters.c.step_key)
        .where(_queued_now(now), letters.c.message_id.is_(None))
        .order_by(letters.c.id)
    ).all()
    pooled = pool_steps(conn)
    stmt = (
        update(letters)
        .where(letters.c.id == bindparam("letter_id"))
        .values(
            message_id=bindparam("mid"),
            coupon_code=bindparam("code"),
            coupon_expires_at=bindparam("expires", type_=letters.c.coupon_expires_at.type),
        )
    )
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        for _attempt in range(5):
            params = [
                {
                    "letter_id": row.id,
                    "mid": f"<{secrets.token_hex(10)}.{row.id}@{domain}>",
                    "code": new_coupon_code(prefix)
                    if row.discount_percent > 0 and row.step_key not in pooled
                    else None,
                    "expires": now + expiry if row.discount_percent > 0 else None,
                }
                for row in part
            ]
            try:
                with conn.begin_nested():
                    conn.execute(stmt, params)
                break
            except IntegrityError:
                continue  # a random code collided with an existing one: draw again
        else:
            raise RuntimeError("could not draw unique coupon codes after 5 attempts")
    for step_key in sorted(pooled):
        wanting = [row.id for row in rows if row.step_key == step_key and row.discount_percent > 0]
        if wanting:
            take_codes(conn, step_key, wanting, now)
