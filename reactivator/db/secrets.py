"""The signing key kept in the database when none comes from the environment."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection, insert, select

from reactivator.db.tables import signing_keys


def stored_keys(conn: Connection, now: datetime) -> list[str]:
    """The stored keys, newest first; the first call makes one (inside the caller's write)."""
    keys = list(conn.execute(select(signing_keys.c.secret).order_by(signing_keys.c.id.desc())).scalars())
    if keys:
        return keys
    key = secrets.token_urlsafe(48)
    conn.execute(insert(signing_keys).values(secret=key, created_at=now))
    return [key]
