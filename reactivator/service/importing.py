"""Import customers and orders from CSV or JSON lines: stream, validate, upsert in batches.

Bad rows never stop an import and are never silently dropped: each one is
reported with its line and reason, written to a rejects file next to the
input, and counted in the summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from reactivator.core.records import CustomerRecord, OrderRecord, Rejection
from reactivator.db.customers import UpsertCounts, upsert_customers
from reactivator.db.orders import write_orders
from reactivator.db.returns import ReturnedCustomer
from reactivator.service.app import App
from reactivator.service.readers import Progress, RawRow, RejectsWriter, read_rows
from reactivator.service.rows import RowError, parse_customer, parse_order

SHOWN_REJECTS = 20
FUTURE_SLACK = timedelta(days=1)  # clocks and time zones differ a little; more is a data error


class ImportKind(StrEnum):
    CUSTOMERS = "customers"
    ORDERS = "orders"


REQUIRED = {
    ImportKind.CUSTOMERS: ("id", "email"),
    ImportKind.ORDERS: ("id", "customer_id", "placed_at", "amount"),
}


@dataclass
class ImportSummary:
    kind: ImportKind
    path: Path
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


def import_file(
    app: App,
    kind: ImportKind,
    path: Path,
    now: datetime,
    progress: Progress | None = None,
) -> ImportSummary:
    """Stream `path` into the database in batches; one transaction per batch."""
    summary = ImportSummary(kind, path)
    batch_size = app.settings.imports.batch_size
    parse: Callable[[dict[str, Any]], Any] = (
        parse_customer if kind is ImportKind.CUSTOMERS else lambda row: _order_in_past(row, app, now)
    )
    with RejectsWriter(path) as rejects:
        pending: list[tuple[int, Any]] = []
        pending_rejects: list[tuple[Rejection, dict[str, Any]]] = []
        fields_by_line: dict[int, dict[str, Any]] = {}

        def flush() -> None:
            db_rejects = _store(app, kind, pending, now, summary) if pending else []
            found = [(r, fields_by_line.get(r.line, {})) for r in db_rejects] + pending_rejects
            for rejection, fields in sorted(found, key=lambda p: p[0].line):
                rejects.write(rejection.line, rejection.reason, fields)
                if len(summary.first_rejects) < SHOWN_REJECTS:
                    summary.first_rejects.append(rejection)
            summary.rejected += len(found)
            pending.clear()
            pending_rejects.clear()
            fields_by_line.clear()

        for raw in read_rows(path, REQUIRED[kind], progress):
            if raw.line == 0:
                rejects.header = list(raw.fields)
                continue
            summary.rows += 1
            record = _parse(raw, parse, pending_rejects)
            if record is not None:
                pending.append((raw.line, record))
                fields_by_line[raw.line] = raw.fields
            if len(pending) >= batch_size:
                flush()
        flush()
        summary.rejects_path = rejects.path if rejects.count else None
    return summary


def _order_in_past(row: dict[str, Any], app: App, now: datetime) -> OrderRecord:
    record = parse_order(row, app.settings.shop.currency)
    if record.placed_at > now + FUTURE_SLACK:
        raise RowError(f"placed_at {record.placed_at.isoformat()} is in the future")
    return record


def _parse(
    raw: RawRow, parse: Callable[[dict[str, Any]], Any], rejects: list[tuple[Rejection, dict[str, Any]]]
) -> Any:
    if raw.error is not None:
        rejects.append((Rejection(raw.line, raw.error), raw.fields))
        return None
    try:
        return parse(raw.fields)
    except RowError as exc:
        rejects.append((Rejection(raw.line, str(exc)), raw.fields))
        return None


def _store(
    app: App, kind: ImportKind, batch: list[tuple[int, Any]], now: datetime, summary: ImportSummary
) -> list[Rejection]:
    with app.db.write() as conn:
        counts: UpsertCounts
        if kind is ImportKind.CUSTOMERS:
            counts = upsert_customers(conn, batch, now, from_file=True)
        else:
            counts = write_orders(conn, batch, now, app.attribution, from_file=True)
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
