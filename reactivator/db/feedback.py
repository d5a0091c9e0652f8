"""Stored feedback: events (bounces, complaints, deliveries...), replies, and the steps the
complaint brake stopped."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from reactivator.core.feedback import FeedbackKind
from reactivator.core.model import LetterStatus
from reactivator.db.dialect import insert_for
from reactivator.db.tables import customers, feedback_events, letters, replies, step_brakes


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """What an event needs to know of the letter it is about."""

    letter_id: int
    customer_id: int
    campaign: str
    step_key: str
    email_key: str | None


def letter_facts(conn: Connection, letter_id: int) -> LetterFacts | None:
    row = conn.execute(
        select(
            letters.c.id, letters.c.customer_id, letters.c.campaign, letters.c.step_key, customers.c.email_key
        )
        .join(customers, customers.c.id == letters.c.customer_id)
        .where(letters.c.id == letter_id)
    ).first()
    return LetterFacts(row.id, row.customer_id, row.campaign, row.step_key, row.email_key) if row else None


def letter_by_message_id(conn: Connection, message_id: str) -> int | None:
    """Our letter with this Message-ID (as an ESP echoes it back)."""
    found = conn.execute(select(letters.c.id).where(letters.c.message_id == message_id.strip())).scalar()
    return int(found) if found is not None else None


def latest_letter_to(conn: Connection, customer_id: int) -> LetterFacts | None:
    """The last letter sent to a customer: an event naming only the address is put down to it."""
    found = conn.execute(
        select(letters.c.id)
        .where(letters.c.customer_id == customer_id, letters.c.status == LetterStatus.SENT.value)
        .order_by(letters.c.sent_at.desc(), letters.c.id.desc())
        .limit(1)
    ).scalar()
    return letter_facts(conn, int(found)) if found is not None else None


def record_event(conn: Connection, values: dict[str, object]) -> bool:
    """Store one event (inside the caller's write); False if its key was seen before."""
    key = str(values["key"])[:200]
    if conn.execute(select(feedback_events.c.id).where(feedback_events.c.key == key)).first():
        return False
    stmt = insert_for(conn)(feedback_events).values({**values, "key": key})
    return bool(conn.execute(stmt.on_conflict_do_nothing()).rowcount)


def soft_bounces(conn: Connection, customer_id: int) -> tuple[int, datetime | None]:
    """How many soft bounces (and "filtered" refusals) a customer's address had since it last worked,
    and the first one's time."""
    last_good = conn.execute(
        select(func.max(feedback_events.c.occurred_at)).where(
            feedback_events.c.customer_id == customer_id,
            feedback_events.c.kind == FeedbackKind.DELIVERED.value,
        )
    ).scalar()
    repeating = or_(
        feedback_events.c.kind == FeedbackKind.SOFT_BOUNCE.value,
        and_(feedback_events.c.kind == FeedbackKind.POLICY.value, feedback_events.c.reason == "filtered"),
    )
    query = select(func.count(), func.min(feedback_events.c.occurred_at)).where(
        feedback_events.c.customer_id == customer_id, repeating
    )
    if last_good is not None:
        query = query.where(feedback_events.c.occurred_at > last_good)
    count, first = conn.execute(query).one()
    return int(count), first


def add_reply(
    conn: Connection, customer_id: int, letter_id: int | None, subject: str, text: str, now: datetime
) -> None:
    conn.execute(
        insert_for(conn)(replies).values(
            customer_id=customer_id, letter_id=letter_id, subject=subject[:500], text=text, received_at=now
        )
    )


@dataclass(frozen=True, slots=True)
class Reply:
    customer_id: int
    external_id: str
    email: str | None
    subject: str
    text: str
    received_at: datetime
    step_key: str | None


def recent_replies(conn: Connection, *, customer_id: int | None = None, limit: int = 50) -> list[Reply]:
    query = (
        select(
            replies.c.customer_id,
            customers.c.external_id,
            customers.c.email,
            replies.c.subject,
            replies.c.text,
            replies.c.received_at,
            letters.c.step_key,
        )
        .join(customers, customers.c.id == replies.c.customer_id)
        .outerjoin(letters, letters.c.id == replies.c.letter_id)
        .order_by(replies.c.received_at.desc(), replies.c.id.desc())
        .limit(limit)
    )
    if customer_id is not None:
        query = query.where(replies.c.customer_id == customer_id)
    return [Reply(*row) for row in conn.execute(query)]


def replies_since(conn: Connection, since: datetime) -> int:
    return int(conn.execute(select(func.count()).where(replies.c.received_at >= since)).scalar() or 0)


def forget_replies(conn: Connection, customer_id: int) -> None:
    """A person's words are personal data: erased with them."""
    conn.execute(delete(replies).where(replies.c.customer_id == customer_id))
    conn.execute(
        update(feedback_events).where(feedback_events.c.customer_id == customer_id).values(detail=None)
    )


def counts_by_step(conn: Connection, campaign: str) -> dict[str, dict[str, int]]:
    """Letters of each step with an event of each kind (a report read twice counts once)."""
    query = (
        select(
            feedback_events.c.step_key,
            feedback_events.c.kind,
            func.count(func.distinct(feedback_events.c.letter_id)),
        )
        .where(feedback_events.c.campaign == campaign, feedback_events.c.letter_id.is_not(None))
        .group_by(feedback_events.c.step_key, feedback_events.c.kind)
    )
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for step_key, kind, n in conn.execute(query):
        found[step_key][kind] = int(n)
    return dict(found)


# ---- the complaint brake -----------------------------------------------------------------------


def stopped_steps(conn: Connection) -> dict[str, str]:
    """Steps the brake stopped, with why."""
    rows = conn.execute(
        select(step_brakes.c.step_key, step_brakes.c.reason).where(step_brakes.c.stopped_at.is_not(None))
    )
    return {row.step_key: row.reason or "" for row in rows}


def resumed_at(conn: Connection, step_key: str) -> datetime | None:
    return conn.execute(select(step_brakes.c.resumed_at).where(step_brakes.c.step_key == step_key)).scalar()


def stop_step(conn: Connection, step_key: str, reason: str, now: datetime) -> bool:
    """Stop a step; False if it already was."""
    if conn.execute(select(step_brakes.c.stopped_at).where(step_brakes.c.step_key == step_key)).scalar():
        return False
    stmt = insert_for(conn)(step_brakes).values(step_key=step_key, stopped_at=now, reason=reason)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[step_brakes.c.step_key], set_={"stopped_at": now, "reason": reason}
        )
    )
    return True


def resume_step(conn: Connection, step_key: str, now: datetime) -> bool:
    """Let a stopped step send again; the brake then counts only what is sent from now on."""
    stmt = insert_for(conn)(step_brakes).values(step_key=step_key, stopped_at=None, resumed_at=now)
    was = conn.execute(select(step_brakes.c.stopped_at).where(step_brakes.c.step_key == step_key)).scalar()
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[step_brakes.c.step_key],
            set_={"stopped_at": None, "reason": None, "resumed_at": now},
        )
    )
    return was is not None


def complaints_and_delivered(conn: Connection, step_key: str, since: datetime | None) -> tuple[int, int]:
    """A step's complained-of letters and its delivered letters (sent, not bounced), sent since `since`."""
    sent = [letters.c.step_key == step_key, letters.c.status == LetterStatus.SENT.value]
    if since is not None:
        sent.append(letters.c.sent_at > since)
    bounced = (
        select(feedback_events.c.letter_id)
        .where(
            feedback_events.c.letter_id == letters.c.id,
            feedback_events.c.kind.in_(
                [FeedbackKind.HARD_BOUNCE.value, FeedbackKind.SOFT_BOUNCE.value, FeedbackKind.POLICY.value]
            ),
        )
        .exists()
    )
    complained = (
        select(feedback_events.c.letter_id)
        .where(
            feedback_events.c.letter_id == letters.c.id,
            feedback_events.c.kind == FeedbackKind.COMPLAINT.value,
        )
        .exists()
    )
    delivered = conn.execute(select(func.count()).where(*sent, ~bounced)).scalar() or 0
    complaints = conn.execute(select(func.count()).where(*sent, complained)).scalar() or 0
    return int(complaints), int(delivered)
