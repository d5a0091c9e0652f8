"""JSON built by the database: one object per row, in each backend's own functions.

Lines made in SQL stream out of the database ready to print, so a trace of
hundreds of thousands of customers costs no Python per row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction


class json_line(GenericFunction[str]):
    """json_line(key1, value1, key2, value2, ...): the row as one JSON object, as text.

    Keys keep their order. Values are JSON strings, numbers and nulls; wrap a
    boolean in `json_bool`.
    """

    name = "json_line"
    type = Text()
    inherit_cache = True


@compiles(json_line, "sqlite")
def _json_line_sqlite(element: json_line, compiler: Any, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


@compiles(json_line, "postgresql")
def _json_line_postgresql(element: json_line, compiler: Any, **kw: Any) -> str:
    # json (not jsonb) keeps the keys in the order given.
    return f"json_build_object({compiler.process(element.clauses, **kw)})::text"


class json_bool(GenericFunction[Any]):
    """A condition as a JSON true/false value inside `json_line`."""

    name = "json_bool"
    inherit_cache = True


@compiles(json_bool, "sqlite")
def _json_bool_sqlite(element: json_bool, compiler: Any, **kw: Any) -> str:
    # SQLite has no boolean type: json() turns the text into a JSON literal.
    return f"json(CASE WHEN {compiler.process(element.clauses, **kw)} THEN 'true' ELSE 'false' END)"


@compiles(json_bool, "postgresql")
def _json_bool_postgresql(element: json_bool, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


class iso_utc(GenericFunction[str]):
    """A stored (naive UTC) timestamp as Python's `datetime.isoformat()` of the aware value.

    '2026-03-01T12:00:00+00:00', with '.ffffff' only when there are microseconds.
    """

    name = "iso_utc"
    type = Text()
    inherit_cache = True


@compiles(iso_utc, "sqlite")
def _iso_utc_sqlite(element: iso_utc, compiler: Any, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's SQLite DateTime format).
    value = compiler.process(element.clauses, **kw)
    return (
        f"(substr({value}, 1, 10) || 'T' || CASE WHEN substr({value}, 20) IN ('', '.000000') "
        f"THEN substr({value}, 12, 8) ELSE substr({value}, 12) END || '+00:00')"
    )


@compiles(iso_utc, "postgresql")
def _iso_utc_postgresql(element: iso_utc, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return (
        f"(to_char({value}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN to_char({value}, 'US') = '000000' "
        f"THEN '' ELSE to_char({value}, '.US') END || '+00:00')"
    )
