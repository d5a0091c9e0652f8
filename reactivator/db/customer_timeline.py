"""One customer's history in time order, for the console's customer page; and finding customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, or_, select

from reactivator.db.tables import (
    customers,
    engagements,
    enrollments,
    feedback_events,
    letters,
    orders,
    survey_answers,
)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to or was done by the customer."""

    at: datetime
    kind: str  # order | enrolled | letter | open | click | survey | a feedback kind (hard_bounce...)
    text: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Found:
    external_id: str
    email: str | None
    last_purchase_at: datetime | None


def search_customers(conn: Connection, text: str, limit: int = 20) -> list[Found]:
    """Customers whose id or email starts with `text` (case-insensitive for the email)."""
    needle = text.strip()
    if not needle:
        return []
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        select(customers.c.external_id, customers.c.email, customers.c.last_purchase_at)
        .where(
            or_(
                customers.c.external_id.like(f"{escaped}%", escape="\\"),
                customers.c.email_key.like(f"{escaped.lower()}%", escape="\\"),
            )
        )
        .order_by(customers.c.external_id)
        .limit(limit)
    )
    return [Found(r.external_id, r.email, r.last_purchase_at) for r in conn.execute(query)]


_FEEDBACK_WORDS = {
    "hard_bounce": "bounced (address does not work)",
    "soft_bounce": "bounced (temporary problem)",
    "policy": "refused by the receiver's policy",
    "complaint": "marked as spam",
    "delivered": "delivered",
    "deferred": "delivery delayed",
    "unsubscribe": "unsubscribed by mail",
    "reply": "replied",
    "auto_reply": "auto-reply",
}


def timeline(conn: Connection, customer_id: int) -> list[Event]:
    """Orders, enrollments, letters, people's opens and clicks, survey answers: newest first."""
    events: list[Event] = []
    for o in conn.execute(select(orders).where(orders.c.customer_id == customer_id)):
        code = f", code {o.coupon_code}" if o.coupon_code else ""
        events.append(
            Event(o.placed_at, "order", f"order {o.external_id}", f"{o.amount_cents / 100:,.2f}{code}")
        )
    for e in conn.execute(select(enrollments).where(enrollments.c.customer_id == customer_id)):
        arm = f" ({e.arm} group)" if e.arm else ""
        reason = e.end_reason or ""
        end = reason if reason.startswith(e.status) else f"{e.status}: {reason}" if reason else e.status
        events.append(Event(e.enrolled_at, "enrolled", f"enrolled: {e.kind}{arm}", end))
    letter_rows = conn.execute(select(letters).where(letters.c.customer_id == customer_id)).all()
    for lt in letter_rows:
        when = lt.sent_at or lt.queued_at
        code = f", code {lt.coupon_code}" if lt.coupon_code else ""
        events.append(
            Event(when, "letter", f"letter {lt.step_key}: {lt.status}", f"{lt.ended_reason or ''}{code}")
        )
    steps = {lt.id: lt.step_key for lt in letter_rows}
    for g in conn.execute(
        select(engagements).where(engagements.c.customer_id == customer_id, engagements.c.machine.is_(False))
    ):
        events.append(Event(g.at, g.kind, f"{g.kind} of {steps.get(g.letter_id, '?')}", g.url or ""))
    for s in conn.execute(select(survey_answers).where(survey_answers.c.customer_id == customer_id)):
        events.append(Event(s.at, "survey", f"answered: {s.reason}", steps.get(s.letter_id, "")))
    for f in conn.execute(select(feedback_events).where(feedback_events.c.customer_id == customer_id)):
        about = f" of {steps[f.letter_id]}" if f.letter_id in steps else ""
        what = _FEEDBACK_WORDS.get(f.kind, f.kind.replace("_", " "))
        reason = f" ({f.reason.replace('_', ' ')})" if f.reason else ""
        detail = f"via {f.source}" + (f": {f.detail}" if f.detail else "")
        events.append(Event(f.occurred_at, f.kind, f"{what}{about}{reason}", detail[:300]))
    return sorted(events, key=lambda e: e.at, reverse=True)


@dataclass(frozen=True, slots=True)
class LetterLine:
    """One letter of a customer, as `reactivator customer` lists it."""

    step_key: str
    status: str
    at: datetime  # sent, or queued when not sent
    coupon_code: str | None
    opened: int  # opens by a person (machines apart)
    clicked: int
    ended_reason: str | None


def customer_letters(conn: Connection, customer_id: int) -> list[LetterLine]:
    """A customer's letters, oldest first, with what they did with each."""
    people = {
        (r.letter_id, r.kind): r.n
        for r in conn.execute(
            select(engagements.c.letter_id, engagements.c.kind, func.count().label("n"))
            .where(engagements.c.customer_id == customer_id, engagements.c.machine.is_(False))
            .group_by(engagements.c.letter_id, engagements.c.kind)
        )
    }
    rows = conn.execute(
        select(letters)
        .where(letters.c.customer_id == customer_id)
        .order_by(letters.c.queued_at, letters.c.id)
    )
    return [
        LetterLine(
            r.step_key,
            r.status,
            r.sent_at or r.queued_at,
            r.coupon_code,
            int(people.get((r.id, "open"), 0)),
            int(people.get((r.id, "click"), 0)),
            r.ended_reason,
        )
        for r in rows
    ]


def customer_survey_answers(conn: Connection, customer_id: int) -> list[tuple[datetime, str]]:
    rows = conn.execute(
        select(survey_answers.c.at, survey_answers.c.reason)
        .where(survey_answers.c.customer_id == customer_id)
        .order_by(survey_answers.c.at)
    )
    return [(r.at, r.reason) for r in rows]
