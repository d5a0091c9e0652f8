"""JSON made by the database reads back as Python would have written it, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import column, literal, literal_column, select, table, text

from reactivator.db.json_sql import iso_utc, json_bool, json_line
from reactivator.db.types import UTCDateTime
from reactivator.service.app import App

MOMENTS = [
    datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    datetime(2026, 3, 1, 12, 0, 5, 120, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 11, 1, 0, 0, 0, 500000, tzinfo=UTC),
]


def test_a_stored_moment_reads_as_isoformat_and_a_line_keeps_its_keys_and_types(app: App) -> None:
    moments = table("moments", column("at", UTCDateTime()), column("name"))
    with app.db.write() as conn:
        conn.execute(text("CREATE TABLE moments (at TIMESTAMP, name TEXT)"))
        conn.execute(moments.insert(), [{"at": at, "name": f'say "{n}" — ü'} for n, at in enumerate(MOMENTS)])
        line = json_line(
            literal_column("'at'"),
            iso_utc(moments.c.at),
            literal_column("'name'"),
            moments.c.name,
            literal_column("'late'"),
            json_bool(moments.c.at > literal(MOMENTS[0], UTCDateTime())),
            literal_column("'none'"),
            None,
        )
        got = [json.loads(s) for s in conn.execute(select(line).order_by(moments.c.at)).scalars()]
        conn.execute(text("DROP TABLE moments"))
    expected = [
        {"at": at.isoformat(), "name": f'say "{n}" — ü', "late": at > MOMENTS[0], "none": None}
        for n, at in sorted(enumerate(MOMENTS), key=lambda p: p[1])
    ]
    assert got == expected
    assert [list(g) for g in got] == [["at", "name", "late", "none"]] * len(MOMENTS)  # keys in order
