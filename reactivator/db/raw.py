"""Driver-level statements for the hot paths (the import, and the statements sending runs
for every letter), where SQLAlchemy's statement handling would cost more than the
database work itself.

Values go to the driver exactly as SQLAlchemy would store them: on SQLite a
naive UTC datetime is the text 'YYYY-MM-DD HH:MM:SS.ffffff' (the UTCDateTime
column's storage format), on PostgreSQL a naive UTC datetime object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection


def placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def time_writer(conn: Connection) -> Callable[[datetime | None], Any]:
    """A function turning an aware datetime into the driver value for this backend."""
    if conn.dialect.name == "sqlite":

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is UTC:  # the common case, in one C call: drop the '+00:00'
                return value.isoformat(" ", "microseconds")[:26]
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return to_text

    def to_naive(value: datetime | None) -> datetime | None:
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    return to_naive


def read_time(value: Any) -> datetime | None:
    """A stored naive-UTC time (text on SQLite, datetime on PostgreSQL) as an aware datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(parsed, datetime)
    return parsed.replace(tzinfo=UTC)


def fetch(conn: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Rows of a driver-level SELECT."""
    return list(conn.exec_driver_sql(sql, tuple(params)).fetchall())


def execute_many(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """One driver-level executemany; `sql` uses this backend's placeholder."""
    if rows:
        conn.exec_driver_sql(sql, rows)
