"""Letters: claim due letters with a lease, then record what became of each.

A claim is a conditional UPDATE inside a write transaction (on PostgreSQL the
candidate rows are locked with SKIP LOCKED, on SQLite the write lock is taken
up front), so two workers never hold the same letter, and a letter whose
sender died is claimed again once its lease has run out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, or_, select, update

from reactivator.core.delivery import LetterState
from reactivator.core.model import EnrollmentStatus, LetterStatus, Subscription
from reactivator.core.records import Letter, decode_tags
from reactivator.db import raw
from reactivator.db.dialect import insert_for
from reactivator.db.letter_products import picks_of
from reactivator.db.tables import customers, domain_pauses, enrollments, letters, step_brakes


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        letters.c.status == LetterStatus.QUEUED.value,
        letters.c.send_after <= now,
        or_(letters.c.lease_until.is_(None), letters.c.lease_until < now),
        # A step the complaint brake stopped keeps its letters queued until it is resumed.
        ~select(step_brakes.c.step_key)
        .where(step_brakes.c.step_key == letters.c.step_key, step_brakes.c.stopped_at.is_not(None))
        .exists(),
    ]


def claim(conn: Connection, now: datetime, limit: int, lease: timedelta, worker: str) -> list[int]:
    """Take up to `limit` due letters for `worker` until `now + lease`."""
    query = select(letters.c.id).where(*_due(now)).order_by(letters.c.send_after, letters.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(conn.execute(query).scalars())
    if not ids:
        return []
    conn.execute(
        update(letters)
        .where(letters.c.id.in_(ids), *_due(now))
        .values(
            lease_until=now + lease, leased_by=worker, attempts=letters.c.attempts + 1, last_attempt_at=now
        )
    )
    return ids


def load(conn: Connection, letter_ids: list[int]) -> list[Letter]:
    """The claimed letters with their customer and enrollment, and the products chosen for them."""
    query = (
        select(
            letters.c.id,
            letters.c.message_id,
            letters.c.step_key,
            letters.c.step_index,
            letters.c.kind,
            letters.c.discount_percent,
            letters.c.coupon_code,
            letters.c.coupon_expires_at,
            letters.c.status.label("letter_status"),
            letters.c.queued_at,
            letters.c.attempts,
            customers.c.id.label("customer_id"),
            customers.c.external_id,
            customers.c.email,
            customers.c.first_name,
            customers.c.last_name,
            customers.c.locale,
            customers.c.timezone,
            customers.c.account_manager,
            customers.c.tags,
            customers.c.last_purchase_at,
            customers.c.orders_count,
            customers.c.subscription,
            enrollments.c.status.label("enrollment_status"),
        )
        .select_from(
            letters.join(customers, customers.c.id == letters.c.customer_id).join(
                enrollments, enrollments.c.id == letters.c.enrollment_id
            )
        )
        .where(letters.c.id.in_(letter_ids))
        .order_by(letters.c.id)
    )
    chosen = picks_of(conn, letter_ids)
    return [
        Letter(
            letter_id=r.id,
            message_id=r.message_id,
            step_key=r.step_key,
            step_index=r.step_index,
            kind=r.kind,
            discount_percent=r.discount_percent,
            coupon_code=r.coupon_code,
            coupon_expires_at=r.coupon_expires_at,
            customer_id=r.customer_id,
            customer_external_id=r.external_id,
            email=r.email,
            first_name=r.first_name,
            last_name=r.last_name,
            locale=r.locale,
            timezone=r.timezone,
            account_manager=r.account_manager,
            tags=decode_tags(r.tags),
            last_purchase_at=r.last_purchase_at,
            orders_count=r.orders_count,
            subscription=Subscription(r.subscription),
            enrollment_status=EnrollmentStatus(r.enrollment_status),
            letter_status=LetterStatus(r.letter_status),
            queued_at=r.queued_at,
            attempts=r.attempts,
            products=tuple(chosen.get(r.id, ())),
        )
        for r in conn.execute(query)
    ]


def current_states(conn: Connection, letter_ids: list[int]) -> dict[int, LetterState]:
    """What may have changed since the batch was loaded, for each letter: its and its
    enrollment's status, the customer's subscription, and whether they still have an address.

    One query for all the letters a send run is about to hand over at once. Written for
    the driver (db/raw): it runs for every letter, and SQLAlchemy's statement handling
    cost five times the query itself.
    """
    ph = raw.placeholder(conn)
    query = (
        "SELECT l.id, l.status, c.subscription, e.status, c.email IS NOT NULL FROM letters l "
        "JOIN customers c ON c.id = l.customer_id JOIN enrollments e ON e.id = l.enrollment_id "
        f"WHERE l.id IN ({', '.join([ph] * len(letter_ids))})"
    )
    return {
        letter_id: LetterState(
            LetterStatus(status), Subscription(subscription), EnrollmentStatus(enrolled), bool(email)
        )
        for letter_id, status, subscription, enrolled, email in raw.fetch(conn, query, letter_ids)
    }


def _leased(letter_id: int, worker: str) -> ColumnElement[bool]:
    return and_(
        letters.c.id == letter_id,
        letters.c.status == LetterStatus.QUEUED.value,
        letters.c.leased_by == worker,
    )


def mark_sent(conn: Connection, letter_ids: list[int], worker: str, now: datetime) -> set[int]:
    """Record hand-overs in one statement; the letters recorded (the others' lease was lost meanwhile).

    Driver-level, like current_states: it runs for every letter sent.
    """
    ph = raw.placeholder(conn)
    statement = (
        f"UPDATE letters SET status = {ph}, sent_at = {ph}, lease_until = NULL, last_error = NULL "
        f"WHERE id IN ({', '.join([ph] * len(letter_ids))}) AND status = {ph} AND leased_by = {ph} "
        "RETURNING id"
    )
    params = [
        LetterStatus.SENT.value,
        raw.time_writer(conn)(now),
        *letter_ids,
        LetterStatus.QUEUED.value,
        worker,
    ]
    return {row[0] for row in raw.fetch(conn, statement, params)}


def mark_cancelled(conn: Connection, letter_id: int, worker: str, reason: str) -> None:
    conn.execute(
        update(letters)
        .where(_leased(letter_id, worker))
        .values(status=LetterStatus.CANCELLED.value, ended_reason=reason, lease_until=None)
    )


def mark_failed(
    conn: Connection, letter_id: int, worker: str, reason: str, status: LetterStatus = LetterStatus.FAILED
) -> None:
    """End the letter as failed (permanently) or expired (retried for too long), with the reason."""
    conn.execute(
        update(letters)
        .where(_leased(letter_id, worker))
        .values(status=status.value, ended_reason=reason, last_error=reason, lease_until=None)
    )


def release(conn: Connection, letter_ids: list[int], worker: str) -> None:
    """Give back claimed letters this worker will not handle (it is stopping)."""
    conn.execute(
        update(letters)
        .where(
            letters.c.id.in_(letter_ids),
            letters.c.leased_by == worker,
            letters.c.status == LetterStatus.QUEUED.value,
        )
        .values(lease_until=None, leased_by=None)
    )


def release_all(conn: Connection, worker: str, keep: Iterable[int] = ()) -> int:
    """Give back every letter `worker` still holds but those in `keep`; how many there were."""
    query = (
        update(letters)
        .where(letters.c.leased_by == worker, letters.c.status == LetterStatus.QUEUED.value)
        .where(letters.c.lease_until.is_not(None))
    )
    kept = list(keep)
    if kept:
        query = query.where(letters.c.id.not_in(kept))
    released = conn.execute(query.values(lease_until=None, leased_by=None)).rowcount
    return int(released)


def pause_domain(conn: Connection, domain: str, until: datetime, reason: str) -> None:
    """Stop every worker of the fleet from mailing `domain` until `until`."""
    values = {"paused_until": until, "reason": reason[:2000]}
    ins = insert_for(conn)(domain_pauses).values(domain=domain, **values)
    conn.execute(ins.on_conflict_do_update(index_elements=[domain_pauses.c.domain], set_=values))


def active_pauses(conn: Connection, now: datetime) -> dict[str, datetime]:
    """The domains paused at `now`, with the end of each pause."""
    query = select(domain_pauses.c.domain, domain_pauses.c.paused_until).where(
        domain_pauses.c.paused_until > now
    )
    return {r.domain: r.paused_until for r in conn.execute(query)}


def defer(conn: Connection, letter_id: int, worker: str, until: datetime, reason: str) -> None:
    """Give the letter back to the queue, to be tried again from `until`."""
    conn.execute(
        update(letters)
        .where(_leased(letter_id, worker))
        .values(send_after=until, lease_until=None, leased_by=None, last_error=reason)
    )


@dataclass(frozen=True, slots=True)
class SentLetter:
    letter_id: int
    customer_id: int
    external_id: str
    sent_at: datetime


def sent_between(conn: Connection, start: datetime, end: datetime) -> list[SentLetter]:
    """The letters sent from `start` to `end` (the demo plays their readers forward)."""
    query = (
        select(letters.c.id, letters.c.customer_id, customers.c.external_id, letters.c.sent_at)
        .select_from(letters.join(customers, customers.c.id == letters.c.customer_id))
        .where(letters.c.sent_at.between(start, end))
        .order_by(letters.c.id)
    )
    return [SentLetter(r.id, r.customer_id, r.external_id, r.sent_at) for r in conn.execute(query)]


def sent_by_step_and_locale(conn: Connection, limit: int = 5000) -> list[tuple[str, str | None, str]]:
    """(step key, customer's locale, customer's id) of the letters sent last, newest first."""
    query = (
        select(letters.c.step_key, customers.c.locale, customers.c.external_id)
        .select_from(letters.join(customers, customers.c.id == letters.c.customer_id))
        .where(letters.c.status == LetterStatus.SENT.value, customers.c.email.is_not(None))
        .order_by(letters.c.sent_at.desc(), letters.c.id.desc())
        .limit(limit)
    )
    return [(r.step_key, r.locale, r.external_id) for r in conn.execute(query)]


def last_step_of(conn: Connection, customer_id: int) -> str | None:
    """The step of the last letter sent to a customer, if any."""
    return conn.execute(
        select(letters.c.step_key)
        .where(letters.c.customer_id == customer_id, letters.c.status == LetterStatus.SENT.value)
        .order_by(letters.c.sent_at.desc(), letters.c.id.desc())
        .limit(1)
    ).scalar()


def latest_sent_letter(conn: Connection) -> SentLetter | None:
    """The letter sent last (`reactivator doctor` follows its unsubscribe link)."""
    row = conn.execute(
        select(letters.c.id, letters.c.customer_id, customers.c.external_id, letters.c.sent_at)
        .select_from(letters.join(customers, customers.c.id == letters.c.customer_id))
        .where(letters.c.status == LetterStatus.SENT.value)
        .order_by(letters.c.sent_at.desc(), letters.c.id.desc())
        .limit(1)
    ).first()
    return SentLetter(row.id, row.customer_id, row.external_id, row.sent_at) if row else None


def cancel_queued(conn: Connection, which: ColumnElement[bool], reason: str) -> None:
    """Cancel the letters not yet sent that match `which` (a condition on letters)."""
    conn.execute(
        update(letters)
        .where(which, letters.c.status == LetterStatus.QUEUED.value)
        .values(status=LetterStatus.CANCELLED.value, ended_reason=reason)
    )


def queued_for(conn: Connection, customer_id: int) -> int | None:
    """The id of the customer's letter waiting in the queue, if any."""
    query = (
        select(letters.c.id)
        .where(letters.c.customer_id == customer_id, letters.c.status == LetterStatus.QUEUED.value)
        .order_by(letters.c.id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar()


@dataclass(frozen=True, slots=True)
class Enrolled:
    """A customer enrolled by one pass, with their first letter's coupon (None if held back)."""

    external_id: str
    arm: str | None
    kind: str
    entry_step: int
    coupon_code: str | None


def enrolled_by_pass(conn: Connection, at: datetime) -> list[Enrolled]:
    """Who the pass at `at` enrolled (the demo plays their responses forward)."""
    query = (
        select(
            customers.c.external_id,
            enrollments.c.arm,
            enrollments.c.kind,
            enrollments.c.entry_step,
            letters.c.coupon_code,
        )
        .select_from(
            enrollments.join(customers, customers.c.id == enrollments.c.customer_id).outerjoin(
                letters,
                (letters.c.enrollment_id == enrollments.c.id)
                & (letters.c.step_index == enrollments.c.entry_step),
            )
        )
        .where(enrollments.c.enrolled_at == at)
        .order_by(enrollments.c.id)
    )
    return [Enrolled(r.external_id, r.arm, r.kind, r.entry_step, r.coupon_code) for r in conn.execute(query)]
