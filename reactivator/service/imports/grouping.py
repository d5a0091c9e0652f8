"""Consecutive rows that make one record (an order exported as a row per line item)."""

from __future__ import annotations

from collections.abc import Iterator

from reactivator.service.imports.readers import RawRow

LINES = "__lines__"  # the merged row keeps every row's own fields here, in order (the line items)


def grouped(rows: Iterator[RawRow], column: str) -> Iterator[RawRow]:
    """Merge runs of rows with the same `column` value into one row, at the first row's line.

    The first row's values stand; a later row only fills a field the first left
    empty, and every row's own fields stay in order under LINES. A row that could
    not be read, or has no value in `column`, stands alone. Only consecutive rows
    group, so memory stays flat however big the file.
    """
    current: RawRow | None = None
    for row in rows:
        key = row.fields.get(column)
        if row.line == 0 or row.error is not None or key in (None, ""):
            if current is not None:
                yield current
                current = None
            yield row
            continue
        if current is not None and current.fields.get(column) == key:
            merged = dict(current.fields)
            for name, value in row.fields.items():
                if merged.get(name) in (None, ""):
                    merged[name] = value
            merged[LINES] = [*current.fields[LINES], row.fields]
            current = RawRow(current.line, merged)
            continue
        if current is not None:
            yield current
        current = RawRow(row.line, {**row.fields, LINES: [row.fields]})
    if current is not None:
        yield current
