"""The daemons table: each running daemon says it is alive, what it plans and what went wrong.

`reactivator status` reads it; nothing else depends on it, so a daemon that
cannot write its heartbeat still sends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from reactivator.db.dialect import insert_for
from reactivator.db.tables import daemons


@dataclass(frozen=True, slots=True)
class DaemonRow:
    name: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    next_pass_at: datetime | None
    last_pass_at: datetime | None
    last_pass: dict[str, Any] | None
    last_segments_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    alerts: list[str]


def register(conn: Connection, name: str, host: str, pid: int, now: datetime) -> None:
    """Announce a starting daemon (a row left by an earlier process of the same name is replaced)."""
    conn.execute(delete(daemons).where(daemons.c.name == name))
    conn.execute(
        insert_for(conn)(daemons).values(name=name, host=host, pid=pid, started_at=now, heartbeat_at=now)
    )


def heartbeat(
    conn: Connection, name: str, now: datetime, next_pass_at: datetime | None, alerts: list[str]
) -> None:
    conn.execute(
        update(daemons)
        .where(daemons.c.name == name)
        .values(heartbeat_at=now, next_pass_at=next_pass_at, alerts=json.dumps(alerts) if alerts else None)
    )


def record_pass(conn: Connection, name: str, at: datetime, summary: dict[str, Any]) -> None:
    conn.execute(
        update(daemons)
        .where(daemons.c.name == name)
        .values(last_pass_at=at, last_pass=json.dumps(summary, default=str), heartbeat_at=at)
    )


def record_segments(conn: Connection, name: str, at: datetime) -> None:
    conn.execute(update(daemons).where(daemons.c.name == name).values(last_segments_at=at))


def record_error(conn: Connection, name: str, at: datetime, error: str) -> None:
    conn.execute(
        update(daemons).where(daemons.c.name == name).values(last_error=error[:2000], last_error_at=at)
    )


def unregister(conn: Connection, name: str) -> None:
    conn.execute(delete(daemons).where(daemons.c.name == name))


def all_daemons(conn: Connection) -> list[DaemonRow]:
    rows = conn.execute(select(daemons).order_by(daemons.c.started_at, daemons.c.name))
    return [
        DaemonRow(
            name=r.name,
            host=r.host,
            pid=r.pid,
            started_at=r.started_at,
            heartbeat_at=r.heartbeat_at,
            next_pass_at=r.next_pass_at,
            last_pass_at=r.last_pass_at,
            last_pass=json.loads(r.last_pass) if r.last_pass else None,
            last_segments_at=r.last_segments_at,
            last_error=r.last_error,
            last_error_at=r.last_error_at,
            alerts=json.loads(r.alerts) if r.alerts else [],
        )
        for r in rows
    ]
