"""Small helpers that hide the differences between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

T = TypeVar("T")

# Well under SQLite's limit on bound parameters in one statement.
IN_LIST_SIZE = 900


def insert_for(conn: Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT on both backends."""
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def chunks(items: list[T], size: int = IN_LIST_SIZE) -> list[list[T]]:
    """`items` in slices small enough for one IN (...) list."""
    return [items[i : i + size] for i in range(0, len(items), size)]
