"""The coupon pool: codes the shop generated, each given to one letter; and the codes we generated.

A step with a pool (any code ever loaded for it) takes its letters' codes from
it, never one twice; a letter that finds the pool empty waits without a code
(the sender defers it) until more codes are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, select, update

from reactivator.core.model import LetterStatus
from reactivator.db.dialect import chunks, insert_for
from reactivator.db.tables import coupon_pool, letters


def pool_steps(conn: Connection) -> set[str]:
    """The steps whose codes come from a pool."""
    return set(conn.execute(select(coupon_pool.c.step_key).distinct()).scalars())


def add_codes(conn: Connection, step_key: str, codes: list[str], now: datetime) -> int:
    """Load codes into the step's pool; returns how many were new (a code is loaded once)."""
    before = unused(conn).get(step_key, 0)
    rows = [{"step_key": step_key, "code": code, "imported_at": now} for code in codes]
    for part in chunks(rows, 500):
        conn.execute(insert_for(conn)(coupon_pool).on_conflict_do_nothing(), part)
    return unused(conn).get(step_key, 0) - before


def known_codes(conn: Connection, codes: list[str]) -> set[str]:
    """Which of these codes are already in a pool or on a letter."""
    found: set[str] = set()
    for part in chunks(codes):
        found.update(conn.execute(select(coupon_pool.c.code).where(coupon_pool.c.code.in_(part))).scalars())
        on_letters = select(letters.c.coupon_code).where(letters.c.coupon_code.in_(part))
        found.update(c for c in conn.execute(on_letters).scalars() if c is not None)
    return found


def unused(conn: Connection) -> dict[str, int]:
    """Codes not given to any letter yet, per step with a pool."""
    query = select(coupon_pool.c.step_key, func.count(coupon_pool.c.letter_id), func.count()).group_by(
        coupon_pool.c.step_key
    )
    return {step: int(total) - int(given) for step, given, total in conn.execute(query)}


def take_codes(conn: Connection, step_key: str, letter_ids: list[int], now: datetime) -> dict[int, str]:
    """Give these letters unused codes of the step's pool, one each, as far as the pool goes.

    A code is taken with a conditional update, so two workers never give one code twice.
    """
    taken: dict[int, str] = {}
    wanted = list(letter_ids)
    while wanted:
        query = (
            select(coupon_pool.c.id, coupon_pool.c.code)
            .where(coupon_pool.c.step_key == step_key, coupon_pool.c.letter_id.is_(None))
            .order_by(coupon_pool.c.id)
            .limit(len(wanted))
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        free = conn.execute(query).all()
        if not free:
            break
        for (pool_id, code), letter_id in zip(free, wanted, strict=False):
            claimed = conn.execute(
                update(coupon_pool)
                .where(coupon_pool.c.id == pool_id, coupon_pool.c.letter_id.is_(None))
                .values(letter_id=letter_id, assigned_at=now)
            ).rowcount
            if claimed:
                taken[letter_id] = code
        wanted = [lid for lid in wanted if lid not in taken]
    if taken:
        conn.execute(
            update(letters).where(letters.c.id == bindparam("lid")).values(coupon_code=bindparam("code")),
            [{"lid": lid, "code": code} for lid, code in taken.items()],
        )
    return taken


@dataclass(frozen=True, slots=True)
class GeneratedCode:
    code: str
    percent: int
    expires_at: datetime | None
    step_key: str
    queued_at: datetime


def generated_codes(conn: Connection, since: datetime | None) -> list[GeneratedCode]:
    """The codes reactivator made itself (not from a pool) for letters queued since `since`."""
    pooled = select(coupon_pool.c.code).where(coupon_pool.c.code == letters.c.coupon_code).exists()
    query = (
        select(letters)
        .where(
            letters.c.coupon_code.is_not(None),
            ~pooled,
            letters.c.status.in_([LetterStatus.QUEUED.value, LetterStatus.SENT.value]),
        )
        .order_by(letters.c.id)
    )
    if since is not None:
        query = query.where(and_(letters.c.queued_at >= since))
    return [
        GeneratedCode(r.coupon_code, r.discount_percent, r.coupon_expires_at, r.step_key, r.queued_at)
        for r in conn.execute(query)
    ]
