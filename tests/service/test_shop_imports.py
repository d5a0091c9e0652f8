"""Shopify's and WooCommerce's exports, imported as they come, on both backends.

The fixtures follow the platforms' documented columns and objects, with their
awkward parts: Shopify's '-prefixed ids and comma tags, an order as a row per
line item, consent "no" and consent not understood, cancelled, voided and
refunded orders, Cyrillic names, WooCommerce's nested objects and statuses.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from reactivator.db.tables import order_lines, orders, product_skus, products
from reactivator.errors import InputError
from reactivator.service.app import App
from reactivator.service.customers import show
from reactivator.service.imports import ImportKind, import_file
from reactivator.service.passes import enroll_and_queue
from reactivator.service.reporting.campaign import campaign_report
from tests.helpers import customer_row, enrollments_of

SHOPS = Path(__file__).resolve().parent.parent / "fixtures" / "shops"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def fixture(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copy(SHOPS / name, target)
    return target


def order_row(app: App, external_id: str) -> dict[str, object]:
    with app.db.read() as conn:
        return dict(conn.execute(select(orders).where(orders.c.external_id == external_id)).one()._mapping)


def test_a_shopify_customers_export_is_recognised_and_read_with_consent_tags_ids_and_language(
    app: App, tmp_path: Path
) -> None:
    summary = import_file(app, ImportKind.CUSTOMERS, fixture(tmp_path, "shopify_customers.csv"), NOW)
    assert summary.format == "shopify"
    assert (summary.inserted, summary.rejected) == (3, 2)
    reasons = {r.line: r.reason for r in summary.first_rejects}
    assert "'maybe' is not understood as consent" in reasons[5]
    assert "invalid email" in reasons[6]
    ann = customer_row(app, "7001234567890")  # Shopify's leading ' is gone
    assert ann["tags"] == ";vip;wholesale;"  # "VIP, Wholesale": two tags
    assert (ann["subscription"], ann["locale"]) == ("subscribed", None)
    oleg = customer_row(app, "7001234567891")
    assert (oleg["first_name"], oleg["locale"]) == ("Олег", "ru")  # RU speaks Russian
    said_no = customer_row(app, "7001234567892")
    assert said_no["subscription"] == "unsubscribed"  # Accepts Email Marketing = no
    assert said_no["tags"] == ";bad_payer;"
    assert summary.rejects_path is not None
    assert summary.rejects_path.read_text().count("\n") == 3  # header and the two rows


def test_an_opt_out_stays_when_a_later_export_says_yes(app: App, tmp_path: Path) -> None:
    path = fixture(tmp_path, "shopify_customers.csv")
    import_file(app, ImportKind.CUSTOMERS, path, NOW)
    path.write_text(path.read_text().replace("said.no@example.com,no,", "said.no@example.com,yes,"))
    import_file(app, ImportKind.CUSTOMERS, path, NOW + timedelta(days=1))
    assert customer_row(app, "7001234567892")["subscription"] == "unsubscribed"


def test_an_older_shopify_export_without_ids_is_keyed_by_email(app: App, tmp_path: Path) -> None:
    summary = import_file(app, ImportKind.CUSTOMERS, fixture(tmp_path, "shopify_customers_legacy.csv"), NOW)
    assert (summary.format, summary.inserted) == ("shopify", 1)
    kim = customer_row(app, "kim@example.com")
    assert (kim["subscription"], kim["locale"], kim["tags"]) == ("unsubscribed", "ru", ";newsletter-2019;")


def test_a_column_that_looks_like_consent_but_is_not_understood_stops_the_import(
    app: App, tmp_path: Path
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("id,email,email_opt_in\nc1,a@example.com,no\n")
    with pytest.raises(InputError, match=r"email_opt_in.*looks like marketing consent"):
        import_file(app, ImportKind.CUSTOMERS, path, NOW)
    with app.db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM customers").scalar() == 0


def test_shopify_orders_group_their_line_items_and_only_purchases_count(app: App, tmp_path: Path) -> None:
    import_file(app, ImportKind.CUSTOMERS, fixture(tmp_path, "shopify_customers.csv"), NOW)
    summary = import_file(app, ImportKind.ORDERS, fixture(tmp_path, "shopify_orders.csv"), NOW)
    assert summary.format == "shopify"
    assert summary.inserted == 5
    reasons = sorted(r.reason for r in summary.first_rejects)
    assert any("no customer with email 'nobody@example.com'" in r for r in reasons)
    assert any("in the future" in r for r in reasons)
    first = order_row(app, "5555001")
    assert (first["amount_cents"], first["status"], first["currency"]) == (7500, "placed", "USD")
    assert order_row(app, "5555002")["currency"] == "RUB"
    assert first["placed_at"] == datetime(2025, 2, 1, 15, 0, tzinfo=UTC)  # -0500 read as such
    with app.db.read() as conn:
        lines = conn.execute(
            select(order_lines.c.name, order_lines.c.quantity, order_lines.c.price_cents, order_lines.c.sku)
            .where(order_lines.c.order_id == first["id"])
            .order_by(order_lines.c.line_no)
        ).all()
    assert [tuple(r) for r in lines] == [
        ("Linen shirt - M", 2, 2500, "SHIRT-M"),
        ("Wool socks", 1, 2000, "SOCKS"),
    ]
    assert order_row(app, "5555002")["coupon_code"] == "WELCOME10"
    assert order_row(app, "5555003")["status"] == "cancelled"  # voided and cancelled
    assert order_row(app, "5555004")["status"] == "refunded"
    assert order_row(app, "5555005")["amount_cents"] == 3000  # 50.00 less 20.00 refunded
    ann = customer_row(app, "7001234567890")
    assert (ann["orders_count"], ann["revenue_cents"]) == (2, 10500)  # #1001 and #1005 only
    again = import_file(
        app, ImportKind.ORDERS, fixture(tmp_path, "shopify_orders.csv"), NOW + timedelta(hours=1)
    )
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)


def test_a_return_whose_order_is_cancelled_later_is_no_return_and_does_not_restart_the_ladder(
    app: App, tmp_path: Path
) -> None:
    import_file(app, ImportKind.CUSTOMERS, fixture(tmp_path, "shopify_customers.csv"), NOW)
    path = fixture(tmp_path, "shopify_orders.csv")
    import_file(app, ImportKind.ORDERS, path, NOW)  # Ann last bought on 2025-05-01
    later = NOW + timedelta(days=200)
    enroll_and_queue(app, later)
    assert enrollments_of(app, "7001234567890")[0]["status"] == "active"
    back = path.read_text() + (
        "#1008,ann@example.com,paid,,,,yes,USD,60.00,0.00,0.00,60.00,,0.00,,"
        "2025-12-20 10:00:00 -0500,1,Cap,60.00,,CAP,true,true,,,,5555008\n"
    )
    path.write_text(back)
    import_file(app, ImportKind.ORDERS, path, later + timedelta(days=2))
    assert enrollments_of(app, "7001234567890")[0]["status"] == "returned"
    path.write_text(back.replace("#1008,ann@example.com,paid,", "#1008,ann@example.com,refunded,"))
    import_file(app, ImportKind.ORDERS, path, later + timedelta(days=9))
    enrollment = enrollments_of(app, "7001234567890")[0]
    assert enrollment["status"] == "return_cancelled"
    ann = customer_row(app, "7001234567890")
    assert ann["returned_at"] is None
    assert ann["last_purchase_at"] == datetime(2025, 5, 1, 14, 0, tzinfo=UTC)  # #1008 no longer counts
    assert show(app, "7001234567890", later + timedelta(days=10)).status == "return cancelled"
    report = campaign_report(app, later + timedelta(days=10))
    assert report.returned == 0
    assert report.revenue_since_return_cents == 0
    enroll_and_queue(app, later + timedelta(days=10))  # not put back on the ladder
    assert len(enrollments_of(app, "7001234567890")) == 1


def test_woocommerce_orders_from_the_rest_api_with_statuses_refunds_coupons_and_lines(
    app: App, tmp_path: Path
) -> None:
    import_file(app, ImportKind.CUSTOMERS, fixture(tmp_path, "woocommerce_customers.jsonl"), NOW)
    summary = import_file(app, ImportKind.ORDERS, fixture(tmp_path, "woocommerce_orders.jsonl"), NOW)
    assert summary.format == "woocommerce"
    assert summary.inserted == 5
    assert "not a WooCommerce order status" in summary.first_rejects[0].reason
    first = order_row(app, "727")
    assert (first["amount_cents"], first["coupon_code"], first["status"]) == (7500, "K7QH-9PXM-3T", "placed")
    assert first["placed_at"] == datetime(2025, 2, 1, 15, 0, tzinfo=UTC)  # date_created_gmt is UTC
    assert order_row(app, "728")["amount_cents"] == 250000  # 3000.00 less a 500.00 refund
    statuses = {k: order_row(app, k)["status"] for k in ("729", "730", "731")}
    assert statuses == {"729": "cancelled", "730": "refunded", "731": "pending"}
    assert customer_row(app, "26")["orders_count"] == 1


def test_woocommerce_customers_read_consent_a_plugin_kept_and_refuse_a_value_not_understood(
    app: App, tmp_path: Path
) -> None:
    summary = import_file(app, ImportKind.CUSTOMERS, fixture(tmp_path, "woocommerce_customers.jsonl"), NOW)
    assert (summary.format, summary.inserted, summary.rejected) == ("woocommerce", 2, 1)
    assert "'perhaps' is not understood as consent" in summary.first_rejects[0].reason
    oleg = customer_row(app, "27")
    assert (oleg["subscription"], oleg["locale"], oleg["first_name"]) == ("unsubscribed", "ru", "Олег")
    assert customer_row(app, "26")["subscription"] == "subscribed"


@pytest.mark.parametrize(("name", "product", "skus"), [
    ("shopify_products.csv", "linen-shirt", {"SHIRT-M", "SHIRT-L"}),
    ("woocommerce_products.csv", "93", {"SHIRT", "SHIRT-M", "SHIRT-L"}),
])  # fmt: skip
def test_a_platforms_products_export_gives_products_with_every_sku_and_their_stock(
    app: App, tmp_path: Path, name: str, product: str, skus: set[str]
) -> None:
    summary = import_file(app, ImportKind.PRODUCTS, fixture(tmp_path, name), NOW)
    assert summary.rejected == 0, summary.first_rejects
    with app.db.read() as conn:
        rows = {r.external_id: r for r in conn.execute(select(products))}
        mapped = {
            r.sku
            for r in conn.execute(
                select(product_skus.c.sku).where(product_skus.c.product_id == rows[product].id)
            )
        }
    assert mapped == skus
    assert rows[product].in_stock
    assert rows[product].url.startswith("https://shop.example.com/")
    out_of_stock = {"shopify_products.csv": {"wool-socks", "old-cap"}, "woocommerce_products.csv": {"95"}}[
        name
    ]
    assert {k for k, r in rows.items() if not r.in_stock} == out_of_stock


def test_order_lines_can_come_in_a_file_of_their_own_for_orders_already_imported(
    app: App, tmp_path: Path
) -> None:
    from tests.helpers import buy, dormant_customer

    dormant_customer(app, "c1", NOW, 100)
    buy(app, "c1", NOW - timedelta(days=50), order_id="A-1")
    path = tmp_path / "lines.csv"
    path.write_text(
        "order_id,name,quantity,price,sku\nA-1,Linen shirt,1,25.00,SHIRT-M\nA-1,Socks,2,5.00,SOCKS\n"
        "A-404,Nothing,1,1.00,\n"
    )
    summary = import_file(app, ImportKind.ORDER_LINES, path, NOW)
    assert (summary.inserted, summary.rejected) == (1, 1)
    assert "unknown order 'A-404'" in summary.first_rejects[0].reason
    again = import_file(app, ImportKind.ORDER_LINES, path, NOW)
    assert again.unchanged == 1
