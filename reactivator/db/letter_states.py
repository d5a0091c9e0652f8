"""What the letters look like right now: depth by state, deferrals by domain, recent errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, case, func, select

from reactivator.core.model import LetterStatus
from reactivator.db.tables import customers, letters


@dataclass(frozen=True, slots=True)
class DomainDeferral:
    domain: str
    letters: int
    next_try: datetime
    last_error: str | None


@dataclass(frozen=True, slots=True)
class LetterError:
    at: datetime | None
    step_key: str
    customer: str
    status: str
    error: str


def _queued_state(now: datetime) -> ColumnElement[str]:
    """A queued letter is in flight (claimed by a worker), due (waiting for one), deferred (tried,
    to be tried again later) or scheduled (not yet tried, held for later: quiet hours)."""
    queued = letters.c.status == LetterStatus.QUEUED.value
    later = and_(queued, letters.c.send_after > now)
    return case(
        (and_(queued, letters.c.lease_until.is_not(None), letters.c.lease_until >= now), "in flight"),
        (and_(later, letters.c.attempts > 0), "deferred"),
        (later, "scheduled"),
        (queued, "due"),
        else_=letters.c.status,
    )


def depth_by_state(conn: Connection, now: datetime) -> dict[str, int]:
    """Letters by state: due, in flight, deferred, scheduled, sent, failed, expired, cancelled."""
    state = _queued_state(now).label("state")
    return {r.state: int(r.n) for r in conn.execute(select(state, func.count().label("n")).group_by(state))}


def _domain(conn: Connection) -> ColumnElement[str]:
    email = customers.c.email
    if conn.dialect.name == "postgresql":
        return func.split_part(email, "@", 2)
    return func.substr(email, func.instr(email, "@") + 1)


def deferred_by_domain(conn: Connection, now: datetime, limit: int = 20) -> list[DomainDeferral]:
    """Letters tried and waiting to be tried again, by recipient domain, the largest first."""
    domain = func.lower(_domain(conn)).label("domain")
    query = (
        select(
            domain,
            func.count().label("n"),
            func.min(letters.c.send_after).label("next_try"),
            func.max(letters.c.last_error).label("last_error"),
        )
        .select_from(letters.join(customers, customers.c.id == letters.c.customer_id))
        .where(
            letters.c.status == LetterStatus.QUEUED.value, letters.c.send_after > now, letters.c.attempts > 0
        )
        .group_by(domain)
        .order_by(func.count().desc(), domain)
        .limit(limit)
    )
    return [
        DomainDeferral(r.domain or "(no address)", int(r.n), r.next_try, r.last_error)
        for r in conn.execute(query)
    ]


def recent_errors(conn: Connection, limit: int = 10) -> list[LetterError]:
    """The letters that most recently met an error (deferred, failed or expired), newest first."""
    query = (
        select(
            letters.c.last_attempt_at,
            letters.c.step_key,
            customers.c.external_id,
            letters.c.status,
            letters.c.last_error,
        )
        .select_from(letters.join(customers, customers.c.id == letters.c.customer_id))
        .where(letters.c.last_error.is_not(None))
        .order_by(letters.c.last_attempt_at.desc().nulls_last(), letters.c.id.desc())
        .limit(limit)
    )
    return [LetterError(r[0], r[1], r[2], r[3], r[4]) for r in conn.execute(query)]
