"""Import a file of customers or orders: stream, validate, upsert in batches.

Bad rows never stop an import and are never silently dropped: each one is
reported with its line and reason, written to a rejects file next to the
input, and counted in the summary.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reactivator.core.records import CustomerRecord, OrderLinesRecord, OrderRecord, ProductRecord, Rejection
from reactivator.db.catalog import upsert_products, write_order_lines
from reactivator.db.customers import UpsertCounts, upsert_customers
from reactivator.db.orders import orders_by_customer_id, write_orders
from reactivator.db.returns import ReturnedCustomer
from reactivator.db.statistics import refresh_statistics
from reactivator.service.app import App
from reactivator.service.imports.formats import (
    NATIVE,
    CustomerKey,
    ImportFormat,
    ImportKind,
    ParseContext,
    Record,
    format_named,
    recognise,
)
from reactivator.service.imports.grouping import grouped
from reactivator.service.imports.readers import Progress, RawRow, RejectsWriter, peek_header, read_rows
from reactivator.service.imports.rows import RowError

SHOWN_REJECTS = 20


@dataclass
class ImportSummary:
    kind: ImportKind
    path: Path
    format: str = NATIVE
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    first_rejects: list[Rejection] = field(default_factory=list)
    returned: list[ReturnedCustomer] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "format": self.format,
            "file": str(self.path),
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejects_file": str(self.rejects_path) if self.rejects_path else None,
            "rejects": [{"line": r.line, "reason": r.reason} for r in self.first_rejects],
            "returned": [asdict(r) for r in self.returned],
        }


def choose_format(kind: ImportKind, path: Path, name: str | None) -> ImportFormat:
    """The format asked for by name, else the one the file's header row says it is."""
    return format_named(kind, name) if name else recognise(kind, peek_header(path))


def import_file(
    app: App,
    kind: ImportKind,
    path: Path,
    now: datetime,
    progress: Progress | None = None,
    *,
    format_name: str | None = None,
) -> ImportSummary:
    """Stream `path` into the database in batches; one transaction per batch."""
    fmt = choose_format(kind, path, format_name)
    summary = ImportSummary(kind, path, fmt.name)
    batch_size = app.settings.imports.batch_size
    shop = app.settings.shop
    context = ParseContext(shop.currency, now, shop.locales_by_country, shop.website_url)
    with RejectsWriter(path) as rejects, _cycle_collector_paused():
        pending: list[tuple[int, Record]] = []
        pending_rejects: list[tuple[Rejection, dict[str, Any]]] = []
        fields_by_line: dict[int, dict[str, Any]] = {}

        def flush() -> None:
            db_rejects = _store(app, fmt, pending, now, summary) if pending else []
            found = [(r, fields_by_line.get(r.line, {})) for r in db_rejects] + pending_rejects
            for rejection, fields in sorted(found, key=lambda p: p[0].line):
                rejects.write(rejection.line, rejection.reason, fields)
                if len(summary.first_rejects) < SHOWN_REJECTS:
                    summary.first_rejects.append(rejection)
            summary.rejected += len(found)
            pending.clear()
            pending_rejects.clear()
            fields_by_line.clear()
            gc.collect(1)  # the batch's cycles (driver and SQLAlchemy objects), young ones only

        analyze_at = 1  # rows written before the planner's statistics are refreshed next (doubling)

        rows: Iterator[RawRow] = read_rows(path, fmt.required, progress)
        if fmt.group_by is not None:
            rows = grouped(rows, fmt.group_by)
        for raw in rows:
            if raw.line == 0:
                rejects.header = list(raw.fields)
                fmt.check_header(rejects.header)  # before anything is written
                continue
            summary.rows += 1
            record = _parse(raw, fmt, context, pending_rejects)
            if record is not None:
                pending.append((raw.line, record))
                fields_by_line[raw.line] = raw.fields
            if len(pending) >= batch_size:
                flush()
                if summary.inserted >= analyze_at:  # the tables grew: plan the next batches for their size
                    _refresh_statistics(app)
                    analyze_at = 2 * summary.inserted
        flush()
        summary.rejects_path = rejects.path if rejects.count else None
    return summary


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's automatic cycle collector for the import; it runs once a batch instead.

    An import allocates millions of small, acyclic objects (rows, records, tuples), and
    the collector, run every few hundred allocations, walks those still alive again and
    again: measured, a fifth of an import's time. Reference counting frees them; the
    few cycles a batch makes are collected when it is written.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _refresh_statistics(app: App) -> None:
    with app.db.write() as conn:
        refresh_statistics(conn)


def _parse(
    raw: RawRow,
    fmt: ImportFormat,
    context: ParseContext,
    rejects: list[tuple[Rejection, dict[str, Any]]],
) -> Record | None:
    if raw.error is not None:
        rejects.append((Rejection(raw.line, raw.error), raw.fields))
        return None
    try:
        return fmt.parse(raw.fields, context)
    except RowError as exc:
        rejects.append((Rejection(raw.line, str(exc)), raw.fields))
        return None


def _store(
    app: App, fmt: ImportFormat, batch: list[tuple[int, Record]], now: datetime, summary: ImportSummary
) -> list[Rejection]:
    with app.db.write() as conn:
        counts: UpsertCounts
        if fmt.kind is ImportKind.CUSTOMERS:
            people = [(line, r) for line, r in batch if isinstance(r, CustomerRecord)]
            counts = upsert_customers(conn, people, now, from_file=True)
        elif fmt.kind is ImportKind.PRODUCTS:
            items = [(line, r) for line, r in batch if isinstance(r, ProductRecord)]
            counts = upsert_products(conn, items, now, from_file=True)
        elif fmt.kind is ImportKind.ORDER_LINES:
            lines = [(line, r) for line, r in batch if isinstance(r, OrderLinesRecord)]
            counts = write_order_lines(conn, lines)
        else:
            orders = [(line, r) for line, r in batch if isinstance(r, OrderRecord)]
            unknown: list[Rejection] = []
            if fmt.customer_key is CustomerKey.EMAIL:
                orders, unknown = orders_by_customer_id(conn, orders)
            counts = write_orders(conn, orders, now, app.attribution, from_file=True)
            counts.rejected.extend(unknown)
            summary.returned.extend(counts.returned)
    summary.inserted += counts.inserted
    summary.updated += counts.updated
    summary.unchanged += counts.unchanged
    return counts.rejected


def record_purchase(
    app: App, record: OrderRecord, now: datetime
) -> tuple[bool, list[ReturnedCustomer], str | None]:
    """One order through the same path as imports: (stored anew, who returned, rejection reason)."""
    with app.db.write() as conn:
        counts = write_orders(conn, [(1, record)], now, app.attribution)
    reason = counts.rejected[0].reason if counts.rejected else None
    return counts.inserted == 1, counts.returned, reason


def record_customers(app: App, records: list[CustomerRecord], now: datetime) -> int:
    """Upsert customers given in code (the demo shop); returns how many were rejected."""
    with app.db.write() as conn:
        return len(upsert_customers(conn, list(enumerate(records, start=1)), now).rejected)
