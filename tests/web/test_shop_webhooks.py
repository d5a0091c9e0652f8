"""Shopify's and WooCommerce's webhooks over real HTTP, on both backends.

Payloads follow the platforms' documented objects. A delivery with a missing or
wrong signature gets 401 and writes nothing; a redelivery changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from reactivator.db.tables import customers, orders, webhook_deliveries
from reactivator.service.app import App, app_from_settings
from reactivator.service.engagement import Engagement
from reactivator.service.passes import enroll_and_queue
from reactivator.web.endpoints import build_web_app
from tests.conftest import make_settings
from tests.helpers import customer_row, enrollments_of
from tests.smtp_servers import free_port
from tests.web.conftest import running

SHOPIFY_SECRET = "shpss_test_secret"
WOO_SECRET = "woo test secret"
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class Shop:
    app: App
    http: httpx.Client

    def count(self, table: Any) -> int:
        with self.app.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def shopify(
        self, topic: str, payload: dict[str, Any], delivery: str, secret: str | None = SHOPIFY_SECRET
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": delivery,
            "Content-Type": "application/json",
        }
        if secret is not None:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
            headers["X-Shopify-Hmac-Sha256"] = base64.b64encode(digest).decode()
        return self.http.post("/webhooks/shopify", content=body, headers=headers)

    def woo(
        self, topic: str, payload: dict[str, Any] | bytes, delivery: str, secret: str = WOO_SECRET
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        headers = {
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Delivery-ID": delivery,
            "X-WC-Webhook-Signature": base64.b64encode(digest).decode(),
        }
        return self.http.post("/webhooks/woocommerce", content=body, headers=headers)


@pytest.fixture
def shop(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setenv("REACTIVATOR_SHOPIFY_WEBHOOK_SECRET", SHOPIFY_SECRET)
    monkeypatch.setenv("REACTIVATOR_WOOCOMMERCE_WEBHOOK_SECRET", WOO_SECRET)
    app = app_from_settings(make_settings(db_url, privacy={"data_requests_dir": tmp_path / "requests"}))
    with (
        running(build_web_app(Engagement.start(app, NOW)), free_port()) as url,
        httpx.Client(base_url=url) as http,
    ):
        yield Shop(app, http)
    app.db.dispose()


def shopify_customer(consent: str = "subscribed", **more: Any) -> dict[str, Any]:
    return {
        "id": 706405506930370000,
        "email": "Anna@Example.com",
        "first_name": "Анна",
        "last_name": "Петрова",
        "tags": "VIP, Wholesale",
        "email_marketing_consent": {
            "state": consent,
            "opt_in_level": "single_opt_in",
            "consent_updated_at": None,
        },
        "default_address": {"country_code": "RU"},
        **more,
    }


def shopify_order(order_id: int, created: datetime, **more: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "name": f"#{order_id % 10000}",
        "email": "anna@example.com",
        "created_at": created.isoformat(),
        "currency": "RUB",
        "total_price": "1990.00",
        "financial_status": "paid",
        "cancelled_at": None,
        "discount_codes": [{"code": "back-15", "amount": "300.00", "type": "percentage"}],
        "line_items": [
            {
                "id": 1,
                "name": "Чайник",
                "title": "Чайник",
                "quantity": 1,
                "price": "1990.00",
                "sku": "KETTLE",
                "product_id": 632910392,
            }
        ],
        "customer": shopify_customer(),
        **more,
    }


def test_a_shopify_delivery_without_a_good_signature_gets_401_and_writes_nothing(shop: Shop) -> None:
    payload = shopify_customer()
    assert shop.shopify("customers/create", payload, "d-1", secret=None).status_code == 401
    assert shop.shopify("customers/create", payload, "d-1", secret="not the secret").status_code == 401
    assert shop.count(customers) == 0
    assert shop.count(webhook_deliveries) == 0


def test_shopify_customers_and_their_consent_changes_arrive_and_opting_out_sticks(shop: Shop) -> None:
    first = shop.shopify("customers/create", shopify_customer(), "d-2")
    assert first.status_code == 200
    assert first.json()["handled"] is True
    anna = customer_row(shop.app, "706405506930370000")
    assert (anna["subscription"], anna["locale"], anna["tags"]) == ("subscribed", "ru", ";vip;wholesale;")
    assert shop.shopify("customers/update", shopify_customer("unsubscribed"), "d-3").status_code == 200
    assert customer_row(shop.app, "706405506930370000")["subscription"] == "unsubscribed"
    assert shop.shopify("customers/update", shopify_customer("subscribed"), "d-4").status_code == 200
    assert customer_row(shop.app, "706405506930370000")["subscription"] == "unsubscribed"
    odd = shopify_customer("maybe-later")
    assert shop.shopify("customers/update", odd, "d-5").status_code == 400


def test_a_shopify_order_returns_the_customer_once_and_a_refund_cancels_the_return(shop: Shop) -> None:
    last_purchase = NOW - timedelta(days=120)
    assert shop.shopify("orders/paid", shopify_order(1001, last_purchase), "o-1").status_code == 200
    enroll_and_queue(shop.app, NOW)
    assert enrollments_of(shop.app, "706405506930370000")[0]["status"] == "active"
    back = shopify_order(1002, NOW + timedelta(minutes=1))
    answer = shop.shopify("orders/create", back, "o-2")
    assert answer.json()["returned"] is True
    replay = shop.shopify("orders/create", back, "o-2")
    assert replay.json() == {"topic": "orders/create", "handled": False, "why": "delivered before"}
    assert shop.count(orders) == 2
    again = shop.shopify("orders/updated", back, "o-3")  # the same order under a new delivery: nothing new
    assert again.json()["stored"] is False
    with shop.app.db.read() as conn:
        stored = conn.execute(
            select(orders.c.coupon_code, orders.c.status).where(orders.c.external_id == "1002")
        ).one()
    assert tuple(stored) == ("BACK-15", "placed")
    refund = {
        "id": 509562969,
        "order_id": 1002,
        "transactions": [{"kind": "refund", "status": "success", "amount": "1990.00"}],
    }
    assert shop.shopify("refunds/create", refund, "r-1").json()["status"] == "refunded"
    assert enrollments_of(shop.app, "706405506930370000")[0]["status"] == "return_cancelled"
    assert shop.shopify("refunds/create", refund, "r-1").json()["handled"] is False  # not taken off twice


def test_a_shopify_order_cancelled_later_stops_counting(shop: Shop) -> None:
    shop.shopify("orders/create", shopify_order(2001, NOW - timedelta(days=10)), "c-1")
    assert customer_row(shop.app, "706405506930370000")["orders_count"] == 1
    cancelled = shopify_order(
        2001, NOW - timedelta(days=10), cancelled_at=NOW.isoformat(), financial_status="voided"
    )
    assert shop.shopify("orders/cancelled", cancelled, "c-2").json()["status"] == "cancelled"
    anna = customer_row(shop.app, "706405506930370000")
    assert (anna["orders_count"], anna["last_purchase_at"]) == (0, None)


def test_shopify_privacy_topics_export_and_erase(shop: Shop, tmp_path: Path) -> None:
    shop.shopify("orders/create", shopify_order(3001, NOW - timedelta(days=5)), "p-1")
    request = {
        "shop_id": 954889,
        "shop_domain": "demo.myshopify.com",
        "orders_requested": [3001],
        "customer": {"id": 706405506930370000, "email": "anna@example.com", "phone": None},
        "data_request": {"id": 9999},
    }
    answer = shop.shopify("customers/data_request", request, "p-2").json()
    written = Path(answer["written"])
    exported = json.loads(written.read_text())
    assert exported["customer"]["email"] == "Anna@example.com"  # as given; matched without case
    assert [o["external_id"] for o in exported["orders"]] == ["3001"]
    assert exported["orders"][0]["lines"][0]["sku"] == "KETTLE"
    redact = {
        "shop_id": 954889,
        "shop_domain": "demo.myshopify.com",
        "customer": {"id": 706405506930370000, "email": "anna@example.com"},
        "orders_to_redact": [3001],
    }
    assert shop.shopify("customers/redact", redact, "p-3").json()["erased"] == 1
    anna = customer_row(shop.app, "706405506930370000")
    assert (anna["email"], anna["first_name"], anna["subscription"]) == (None, None, "erased")
    assert shop.count(orders) == 1  # the anonymous order stays for the reports
    shop.shopify("customers/create", dict(shopify_customer(), id=1, email="bob@example.com"), "p-4")
    assert (
        shop.shopify("shop/redact", {"shop_id": 954889, "shop_domain": "demo.myshopify.com"}, "p-5").json()[
            "erased"
        ]
        == 2
    )
    assert customer_row(shop.app, "1")["email"] is None


def woo_order(
    order_id: int, status: str, created: datetime, email: str = "oleg@example.ru"
) -> dict[str, Any]:
    return {
        "id": order_id,
        "status": status,
        "currency": "RUB",
        "date_created_gmt": created.strftime("%Y-%m-%dT%H:%M:%S"),
        "total": "990.00",
        "billing": {"email": email},
        "line_items": [{"name": "Кружка", "quantity": 2, "price": 495, "sku": "MUG", "product_id": 96}],
        "coupon_lines": [],
        "refunds": [],
    }


def test_woocommerce_webhooks_are_signed_ordered_and_idempotent(shop: Shop) -> None:
    assert shop.woo("customer.created", b"webhook_id=12", "ping-1").json() == {"ping": True}
    person = {
        "id": 27,
        "email": "oleg@example.ru",
        "first_name": "Олег",
        "billing": {"country": "RU"},
        "meta_data": [],
    }
    assert shop.woo("customer.updated", person, "w-1").status_code == 200
    assert customer_row(shop.app, "27")["locale"] == "ru"
    forged = shop.woo("order.created", woo_order(800, "processing", NOW), "w-2", secret="guess")
    assert forged.status_code == 401
    assert shop.count(orders) == 0
    placed = shop.woo("order.created", woo_order(800, "pending", NOW - timedelta(hours=1)), "w-3").json()
    assert (placed["status"], placed["purchase"]) == ("pending", False)
    assert customer_row(shop.app, "27")["orders_count"] == 0  # not paid yet: no purchase
    paid = shop.woo("order.updated", woo_order(800, "processing", NOW - timedelta(hours=1)), "w-4").json()
    assert (paid["status"], paid["purchase"]) == ("placed", True)
    assert customer_row(shop.app, "27")["orders_count"] == 1
    assert (
        shop.woo("order.updated", woo_order(800, "processing", NOW - timedelta(hours=1)), "w-4").json()[
            "handled"
        ]
        is False
    )
    stranger = shop.woo(
        "order.created", woo_order(801, "completed", NOW, email="new@example.com"), "w-5"
    ).json()
    assert stranger["stored"] is False
    assert "no customer with email" in stranger["why"]
