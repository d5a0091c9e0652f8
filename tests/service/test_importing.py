"""Imports on both backends: bad rows are reported with line and reason, nothing is lost."""

from __future__ import annotations

import csv
import json
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest

from reactivator.errors import InputError
from reactivator.service.app import App, app_from_settings
from reactivator.service.customers import erase
from reactivator.service.imports import ImportKind, import_file
from tests.conftest import NOW, make_settings
from tests.helpers import customer_row

LATER = NOW + timedelta(minutes=5)  # a second import runs at another moment


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


CUSTOMER_HEADER = ["id", "email", "first_name", "locale", "timezone", "tags", "unsubscribed"]


def customers_file(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "customers.csv",
        CUSTOMER_HEADER,
        [
            ["c1", "Ann@Example.COM", "Ann", "en", "Europe/London", "vip", ""],
            ["c2", "not-an-email", "Bob", "en", "", "", ""],
            ["c3", "ann@example.com", "Ann again", "en", "", "", ""],
            ["c4", "d@example.com", "Dmitry", "ru", "Mars/Olympus", "", ""],
            ["c5", "e@example.com", "Елена", "ru-RU", "Europe/Moscow", "vip;bad_payer", "yes"],
            ["", "f@example.com", "Nameless", "", "", "", ""],
        ],
    )


def test_bad_customer_rows_are_reported_with_line_and_reason_and_the_rest_goes_on(
    app: App, tmp_path: Path
) -> None:
    summary = import_file(app, ImportKind.CUSTOMERS, customers_file(tmp_path), NOW)
    assert (summary.rows, summary.inserted, summary.rejected) == (6, 2, 4)
    reasons = {r.line: r.reason for r in summary.first_rejects}
    assert "invalid email" in reasons[3]
    assert "duplicate email" in reasons[4]
    assert "line 2" in reasons[4]
    assert "unknown time zone 'Mars/Olympus'" in reasons[5]
    assert "missing id" in reasons[7]
    assert summary.rejects_path == tmp_path / "customers.rejects.csv"
    with summary.rejects_path.open(encoding="utf-8") as f:
        rejected = list(csv.DictReader(f))
    assert [r["line"] for r in rejected] == ["3", "4", "5", "7"]
    assert rejected[0]["email"] == "not-an-email"
    assert rejected[0]["reason"].startswith("invalid email")
    elena = customer_row(app, "c5")
    assert elena["locale"] == "ru"
    assert elena["subscription"] == "unsubscribed"
    assert elena["tags"] == ";bad_payer;vip;"
    assert customer_row(app, "c1")["email_key"] == "ann@example.com"


def test_reimporting_the_same_file_changes_nothing(app: App, tmp_path: Path) -> None:
    path = customers_file(tmp_path)
    import_file(app, ImportKind.CUSTOMERS, path, NOW)
    before = customer_row(app, "c1")
    again = import_file(app, ImportKind.CUSTOMERS, path, LATER)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert customer_row(app, "c1") == before


def test_an_import_never_resubscribes_someone_who_opted_out(app: App, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", CUSTOMER_HEADER, [["c1", "a@example.com", "A", "", "", "", "true"]])
    import_file(app, ImportKind.CUSTOMERS, path, NOW)
    path = write_csv(tmp_path / "b.csv", CUSTOMER_HEADER, [["c1", "a@example.com", "A", "", "", "", "false"]])
    import_file(app, ImportKind.CUSTOMERS, path, LATER)
    assert customer_row(app, "c1")["subscription"] == "unsubscribed"


def test_erased_customers_are_not_brought_back_by_an_import(app: App, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", CUSTOMER_HEADER, [["c1", "a@example.com", "A", "", "", "", ""]])
    import_file(app, ImportKind.CUSTOMERS, path, NOW)
    erase(app, "c1", NOW)
    summary = import_file(app, ImportKind.CUSTOMERS, path, LATER)
    assert summary.rejected == 1
    assert "erased" in summary.first_rejects[0].reason
    row = customer_row(app, "c1")
    assert row["email"] is None
    assert row["first_name"] is None
    assert row["subscription"] == "erased"


def test_json_lines_customers_with_a_broken_line(app: App, tmp_path: Path) -> None:
    path = tmp_path / "customers.jsonl"
    path.write_text(
        json.dumps({"id": "j1", "email": "j1@example.com", "tags": "vip"})
        + "\n{not json\n"
        + json.dumps(["a", "list"])
        + "\n\n"
        + json.dumps({"id": 7, "email": "seven@example.com", "unsubscribed": True})
        + "\n",
        encoding="utf-8",
    )
    summary = import_file(app, ImportKind.CUSTOMERS, path, NOW)
    assert (summary.inserted, summary.rejected) == (2, 2)
    assert [(r.line, r.reason.split(":")[0]) for r in summary.first_rejects] == [
        (2, "invalid JSON"),
        (3, "expected a JSON object"),
    ]
    assert customer_row(app, "7")["subscription"] == "unsubscribed"
    lines = (tmp_path / "customers.rejects.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["line"] for x in lines] == [2, 3]


ORDER_HEADER = ["id", "customer_id", "placed_at", "amount", "currency", "coupon_code"]


def test_orders_keep_the_customers_last_purchase_and_value_current(app: App, tmp_path: Path) -> None:
    import_file(app, ImportKind.CUSTOMERS, customers_file(tmp_path), NOW)
    path = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [
            ["o1", "c1", "2025-01-10T10:00:00+03:00", "100.50", "", ""],
            ["o2", "c1", "2026-01-10T10:00:00Z", "49.50", "EUR", ""],
            ["o3", "ghost", "2026-01-10T10:00:00Z", "10", "", ""],
            ["o4", "c1", "yesterday", "10", "", ""],
            ["o5", "c1", "2026-01-11", "-5", "", ""],
            ["o1", "c1", "2025-01-10T10:00:00+03:00", "100.50", "", ""],
            ["o6", "c1", "2026-02-01", "abc", "", ""],
        ],
    )
    summary = import_file(app, ImportKind.ORDERS, path, NOW)
    assert (summary.inserted, summary.rejected) == (2, 5)
    reasons = [r.reason for r in summary.first_rejects]
    assert reasons[0] == "unknown customer 'ghost'"
    assert reasons[1].startswith("bad date in placed_at: 'yesterday'")
    assert reasons[2] == "negative amount -5"
    assert reasons[3].startswith("duplicate order id 'o1' (first on line 2)")
    assert "not a number" in reasons[4]
    row = customer_row(app, "c1")
    assert row["orders_count"] == 2
    assert row["revenue_cents"] == 15000
    assert row["last_purchase_at"].isoformat() == "2026-01-10T10:00:00+00:00"
    assert row["first_purchase_at"].isoformat() == "2025-01-10T07:00:00+00:00"
    assert row["annual_value_cents"] == 15000  # one year of relationship

    again = import_file(app, ImportKind.ORDERS, path, LATER)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert customer_row(app, "c1")["orders_count"] == 2


def test_a_corrected_order_updates_the_aggregates(app: App, tmp_path: Path) -> None:
    import_file(app, ImportKind.CUSTOMERS, customers_file(tmp_path), NOW)
    first = write_csv(tmp_path / "o.csv", ORDER_HEADER, [["o1", "c1", "2026-01-10T10:00:00Z", "10", "", ""]])
    import_file(app, ImportKind.ORDERS, first, NOW)
    fixed = write_csv(tmp_path / "o2.csv", ORDER_HEADER, [["o1", "c1", "2026-02-10T10:00:00Z", "12", "", ""]])
    summary = import_file(app, ImportKind.ORDERS, fixed, LATER)
    assert summary.updated == 1
    row = customer_row(app, "c1")
    assert row["revenue_cents"] == 1200
    assert row["last_purchase_at"].isoformat().startswith("2026-02-10")


def test_a_file_without_a_required_column_is_refused_before_anything_is_written(
    app: App, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "orders.csv", ["id", "customer_id", "amount"], [["o1", "c1", "1"]])
    with pytest.raises(InputError, match="no column 'placed_at'"):
        import_file(app, ImportKind.ORDERS, path, NOW)


def test_quoted_multiline_fields_keep_line_numbers_right(sqlite_url: str, tmp_path: Path) -> None:
    app = app_from_settings(make_settings(sqlite_url))
    path = tmp_path / "c.csv"
    path.write_text('id,email,first_name\nc1,a@example.com,"two\nlines"\nc2,bad,x\n', encoding="utf-8")
    summary = import_file(app, ImportKind.CUSTOMERS, path, NOW)
    assert [(r.line, r.reason.split(" ")[0]) for r in summary.first_rejects] == [
        (2, "first_name"),
        (4, "invalid"),
    ]


def test_memory_does_not_grow_with_the_file(sqlite_url: str, tmp_path: Path) -> None:
    app = app_from_settings(make_settings(sqlite_url, imports={"batch_size": 500}))

    def peak_for(rows: int, name: str) -> int:
        path = write_csv(
            tmp_path / f"{name}.csv",
            ["id", "email"],
            [[f"{name}{i}", f"{name}{i}@example.com"] for i in range(rows)],
        )
        tracemalloc.start()
        import_file(app, ImportKind.CUSTOMERS, path, NOW)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak_for(2_000, "s"), peak_for(12_000, "l")
    assert large < small * 2  # six times the rows, not six times the memory


def test_a_duplicate_order_id_batches_apart_is_rejected_not_merged(db_url: str, tmp_path: Path) -> None:
    app = app_from_settings(make_settings(db_url, imports={"batch_size": 2}))
    import_file(app, ImportKind.CUSTOMERS, customers_file(tmp_path), NOW)
    path = write_csv(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [
            ["o1", "c1", "2026-01-10T10:00:00Z", "10", "", ""],
            ["o2", "c1", "2026-01-11T10:00:00Z", "10", "", ""],
            ["o3", "c1", "2026-01-12T10:00:00Z", "10", "", ""],
            ["o1", "c1", "2026-01-13T10:00:00Z", "99", "", ""],
        ],
    )
    summary = import_file(app, ImportKind.ORDERS, path, LATER)
    assert (summary.inserted, summary.rejected) == (3, 1)
    assert summary.first_rejects[0].line == 5
    assert "earlier in this file" in summary.first_rejects[0].reason
    assert customer_row(app, "c1")["revenue_cents"] == 3000
    app.db.dispose()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"placed_at": "0001-01-01T00:00:00+05:00"}, "bad date"),
        ({"placed_at": "2099-01-04T00:00:00Z"}, "in the future"),
        ({"placed_at": "2999-01-04T00:00:00Z"}, "out of range"),
        ({"amount": "1.005"}, "more than two decimals"),
        ({"amount": "1_000"}, "not a number"),
        ({"amount": True}, "not a number"),
        ({"customer_id": {"nested": [1]}}, "must be text"),
        ({"id": 1.5}, "must be text"),
    ],
)
def test_odd_values_in_json_lines_are_rejected_with_a_reason(
    sqlite_url: str, tmp_path: Path, fields: dict[str, object], reason: str
) -> None:
    app = app_from_settings(make_settings(sqlite_url))
    import_file(app, ImportKind.CUSTOMERS, customers_file(tmp_path), NOW)
    row = {"id": "o1", "customer_id": "c1", "placed_at": "2026-01-10T10:00:00Z", "amount": "10"} | fields
    path = tmp_path / "orders.jsonl"
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    summary = import_file(app, ImportKind.ORDERS, path, LATER)
    assert summary.rejected == 1, summary
    assert reason in summary.first_rejects[0].reason


def test_an_address_that_opted_out_stays_out_under_a_new_customer_id(app: App, tmp_path: Path) -> None:
    from reactivator.service.customers import unsubscribe

    assert unsubscribe(app, "Later@Example.com", NOW) == "suppressed"  # not a customer yet
    path = write_csv(
        tmp_path / "c.csv",
        CUSTOMER_HEADER,
        [["n1", "later@example.com", "L", "", "", "", ""], ["n2", "a@example.com", "A", "", "", "", ""]],
    )
    import_file(app, ImportKind.CUSTOMERS, path, NOW)
    assert customer_row(app, "n1")["subscription"] == "unsubscribed"
    assert unsubscribe(app, "n2", NOW) == "unsubscribed"
    erase(app, "n2", NOW)
    again = write_csv(tmp_path / "c2.csv", CUSTOMER_HEADER, [["n3", "a@example.com", "A", "", "", "", ""]])
    import_file(app, ImportKind.CUSTOMERS, again, LATER)
    assert customer_row(app, "n3")["subscription"] == "unsubscribed"


def test_an_import_on_postgresql_keeps_the_planner_statistics_up_with_the_tables(
    postgres_url: str, tmp_path: Path
) -> None:
    # With the statistics of an empty table, PostgreSQL scans the whole table for each
    # batch's IN lists; the import refreshes them as the tables double.
    from sqlalchemy import text

    from tests.conftest import _truncate

    _truncate(postgres_url)
    app = app_from_settings(make_settings(postgres_url, imports={"batch_size": 10}))
    path = write_csv(
        tmp_path / "many.csv", ["id", "email"], [[f"p{i}", f"p{i}@example.com"] for i in range(35)]
    )
    assert import_file(app, ImportKind.CUSTOMERS, path, NOW).inserted == 35
    with app.db.read() as conn:
        seen = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'customers'")).scalar_one()
    assert seen >= 20  # analysed after 10 and 20 rows (never analysed, it would say -1 or 0)
    app.db.dispose()
