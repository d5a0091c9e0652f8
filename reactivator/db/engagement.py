"""Opens, clicks and survey answers, and the counts the metrics endpoint shows."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, and_, func, insert, select

from reactivator.core.model import LetterStatus
from reactivator.db.dialect import insert_for
from reactivator.db.tables import customers, engagements, letters, survey_answers


class LetterRef(NamedTuple):
    customer_id: int
    sent_at: datetime | None


def letter_ref(conn: Connection, letter_id: int) -> LetterRef | None:
    """Whose letter this is and when it went out (None: no such letter)."""
    row = conn.execute(
        select(letters.c.customer_id, letters.c.sent_at).where(letters.c.id == letter_id)
    ).first()
    return LetterRef(row.customer_id, row.sent_at) if row else None


def reader_facts(conn: Connection, customer_id: int) -> tuple[str | None, str, datetime | None]:
    """A letter's reader as its pages need them: their language, whether they still get letters,
    and until when they asked for a pause."""
    row = conn.execute(
        select(customers.c.locale, customers.c.subscription, customers.c.paused_until).where(
            customers.c.id == customer_id
        )
    ).one()
    return row.locale, row.subscription, row.paused_until


def record_engagement(
    conn: Connection,
    letter_id: int,
    customer_id: int,
    kind: str,
    url: str | None,
    machine: bool,
    user_agent: str | None,
    now: datetime,
) -> None:
    conn.execute(
        insert(engagements).values(
            letter_id=letter_id,
            customer_id=customer_id,
            kind=kind,
            url=url,
            machine=machine,
            user_agent=(user_agent or "")[:300] or None,
            at=now,
        )
    )


def record_survey_answer(
    conn: Connection, customer_id: int, letter_id: int, reason: str, now: datetime
) -> None:
    """The customer's answer for this letter; a later click replaces an earlier one."""
    statement = insert_for(conn)(survey_answers).values(
        customer_id=customer_id, letter_id=letter_id, reason=reason, at=now
    )
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["customer_id", "letter_id"], set_={"reason": reason, "at": now}
        )
    )


class LetterCount(NamedTuple):
    step_key: str
    status: str
    deferred: bool  # queued, and tried before
    letters: int


def letter_counts(conn: Connection) -> list[LetterCount]:
    """Letters by step and status; queued ones split into waiting and deferred (retrying)."""
    deferred = and_(letters.c.status == LetterStatus.QUEUED.value, letters.c.attempts > 0)
    query = select(letters.c.step_key, letters.c.status, deferred.label("deferred"), func.count()).group_by(
        letters.c.step_key, letters.c.status, deferred
    )
    return [LetterCount(r[0], r[1], bool(r[2]), int(r[3])) for r in conn.execute(query)]


def engagement_counts(conn: Connection) -> list[tuple[str, bool, int]]:
    """(kind, machine, count) over all letters."""
    query = select(engagements.c.kind, engagements.c.machine, func.count()).group_by(
        engagements.c.kind, engagements.c.machine
    )
    return [(r[0], bool(r[1]), int(r[2])) for r in conn.execute(query)]
