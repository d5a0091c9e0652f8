"""The query planner's statistics, refreshed after a bulk write has grown the tables.

PostgreSQL plans with what ANALYZE last saw. A table filled by an import still
looks empty to it until autovacuum comes round (a minute or more), and with
those statistics every `... IN (900 ids)` of the next batch scans the whole
table: seconds a batch instead of milliseconds. SQLite plans from the indexes
alone, so there it is nothing to do.
"""

from __future__ import annotations

from sqlalchemy import Connection


def refresh_statistics(conn: Connection) -> None:
    """ANALYZE on PostgreSQL (it samples a bounded number of rows per table); nothing on SQLite."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE")
