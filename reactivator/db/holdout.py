"""The holdout in SQL: the per-database salt, and each customer's bucket computed inside a pass.

The bucket is core.holdout.bucket_of of core.holdout.bucket_text, written for
each backend: PostgreSQL's own md5(), and on SQLite the same Python function
registered on every connection (db/engine.py). A test holds both equal to core.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, delete, insert, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from reactivator.core.holdout import BUCKETS
from reactivator.db.engine import SQLITE_BUCKET_FUNCTION
from reactivator.db.tables import holdout_salts


class holdout_bucket(GenericFunction[int]):
    """holdout_bucket(text): core.holdout.bucket_of(text), as SQL."""

    name = "holdout_bucket"
    type = Integer()
    inherit_cache = True


@compiles(holdout_bucket, "sqlite")
def _bucket_sqlite(element: holdout_bucket, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_BUCKET_FUNCTION}({compiler.process(element.clauses, **kw)})"


@compiles(holdout_bucket, "postgresql")
def _bucket_postgresql(element: holdout_bucket, compiler: Any, **kw: Any) -> str:
    # The first 32 bits of the MD5 as an unsigned number (bit(32) -> bigint keeps it unsigned).
    hashed = compiler.process(element.clauses, **kw)
    return f"mod(('x' || substr(md5({hashed}), 1, 8))::bit(32)::bigint, {BUCKETS})"


def holdout_salt(conn: Connection) -> str | None:
    """The database's salt, made by `db upgrade`; None if it is missing."""
    return conn.execute(select(holdout_salts.c.salt).order_by(holdout_salts.c.id).limit(1)).scalar()


def make_holdout_salt(conn: Connection, now: datetime) -> str:
    """The salt, made now if the database has none (inside the caller's write)."""
    found = holdout_salt(conn)
    if found is not None:
        return found
    salt = secrets.token_hex(16)
    conn.execute(insert(holdout_salts).values(salt=salt, created_at=now))
    return salt


def set_holdout_salt(conn: Connection, salt: str, now: datetime) -> None:
    """Replace the database's salt (the demo fixes its own, so that its groups come out the same
    on every run); never for a real shop, whose arms would move under running enrollments."""
    conn.execute(delete(holdout_salts))
    conn.execute(insert(holdout_salts).values(salt=salt, created_at=now))
