"""Import formats as entries: chosen by name or header, grouping rows, finding customers by email."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from reactivator.core.records import OrderRecord
from reactivator.db.customers import find_customer
from reactivator.errors import InputError
from reactivator.service.app import App
from reactivator.service.imports import (
    FORMATS,
    NATIVE,
    CustomerKey,
    ImportFormat,
    ImportKind,
    ParseContext,
    choose_format,
    import_file,
    recognise,
)
from reactivator.service.imports.rows import RowError, parse_amount_cents, parse_instant
from tests.conftest import NOW
from tests.helpers import add_customer
from tests.service.test_importing import write_csv


def _line_item_order(row: Mapping[str, object], context: ParseContext) -> OrderRecord:
    """A made-up export: one row per line item, the total on the first, the buyer by email."""
    if not row.get("total"):
        raise RowError("missing total")
    return OrderRecord(
        str(row["order"]),
        str(row["buyer email"]),
        parse_instant(str(row["paid"]), field="paid"),
        parse_amount_cents(row["total"]),
        context.currency,
    )


LINE_ITEMS = ImportFormat(
    "line-items",
    ImportKind.ORDERS,
    ("order", "buyer email", "paid", "total"),
    _line_item_order,
    "a test export with a row per line item",
    signatures=(frozenset({"order", "buyer email", "lineitem"}),),
    group_by="order",
    customer_key=CustomerKey.EMAIL,
)


@pytest.fixture
def line_items() -> Iterator[ImportFormat]:
    FORMATS.append(LINE_ITEMS)
    yield LINE_ITEMS
    FORMATS.remove(LINE_ITEMS)


def test_a_native_header_is_read_as_reactivators_own_format() -> None:
    header = ["id", "customer_id", "placed_at", "amount", "lineitem"]
    assert recognise(ImportKind.ORDERS, header).name == NATIVE
    assert recognise(ImportKind.CUSTOMERS, None).name == NATIVE


def test_an_unknown_format_name_is_refused_naming_the_formats_there_are(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no orders format 'shopfiy'; the formats are: reactivator"):
        choose_format(ImportKind.ORDERS, tmp_path / "orders.csv", "shopfiy")


def test_a_registered_format_is_recognised_from_its_header_and_its_rows_grouped(
    app: App, tmp_path: Path, line_items: ImportFormat
) -> None:
    add_customer(app, "c1", NOW, email="ann@example.com")
    path = write_csv(
        tmp_path / "export.csv",
        ["Order", "Buyer Email", "Paid", "Total", "Lineitem"],
        [
            ["#1001", "Ann@Example.com", "2026-01-10T10:00:00Z", "30.00", "socks"],
            ["#1001", "", "", "", "hat"],  # the same order's second line item
            ["#1002", "ghost@example.com", "2026-01-11T10:00:00Z", "12.00", "mug"],
            ["#1003", "ann@example.com", "2026-01-12T10:00:00Z", "", "scarf"],
        ],
    )
    summary = import_file(app, ImportKind.ORDERS, path, NOW)
    assert summary.format == "line-items"
    assert (summary.rows, summary.inserted, summary.rejected) == (3, 1, 2)
    reasons = {r.line: r.reason for r in summary.first_rejects}
    assert reasons[4] == "no customer with email 'ghost@example.com'"
    assert reasons[5] == "missing total"
    with app.db.read() as conn:
        ann = find_customer(conn, "c1")
    assert ann is not None
    assert (ann.orders_count, ann.revenue_cents) == (1, 3000)


def test_asking_for_the_native_format_reads_a_file_a_header_would_send_elsewhere(
    app: App, tmp_path: Path, line_items: ImportFormat
) -> None:
    path = write_csv(tmp_path / "export.csv", ["order", "buyer email", "lineitem"], [["#1", "a@b.c", "x"]])
    with pytest.raises(InputError, match=r"has no column 'id'"):
        import_file(app, ImportKind.ORDERS, path, NOW, format_name=NATIVE)
