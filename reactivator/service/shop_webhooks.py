"""Webhooks from the shop platforms: Shopify and WooCommerce tell reactivator what happens.

Each request is checked before anything is read: its HMAC-SHA256 signature over
the raw body (base64), with the platform's secret from the environment. A
missing or wrong signature writes nothing (HTTP 401). A delivery is handled once:
its id is remembered in the same transaction as what it changed, so a
redelivery changes nothing. Orders and customers go through the same write path
as the imports (service/imports/shopify.py, woocommerce.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reactivator.core.order_status import OrderStatus
from reactivator.core.records import CustomerRecord, OrderRecord
from reactivator.db import customers as customer_rows
from reactivator.db.orders import orders_by_customer_id, refund, write_orders
from reactivator.db.webhooks import first_delivery
from reactivator.errors import InputError
from reactivator.service.app import App
from reactivator.service.data_requests import write_data_request
from reactivator.service.engagement import Unauthorized
from reactivator.service.imports import FUTURE_SLACK, shopify, woocommerce
from reactivator.service.imports.rows import RowError
from reactivator.service.imports.shop_fields import money

if TYPE_CHECKING:
    from sqlalchemy import Connection  # the type of what app.db hands out; no SQL is run here

log = logging.getLogger("reactivator.webhooks")

SHOPIFY_SECRET_ENV = "REACTIVATOR_SHOPIFY_WEBHOOK_SECRET"  # noqa: S105 (the variable's name)
WOOCOMMERCE_SECRET_ENV = "REACTIVATOR_WOOCOMMERCE_WEBHOOK_SECRET"  # noqa: S105
SHOPIFY_SIGNATURE = "x-shopify-hmac-sha256"
WOOCOMMERCE_SIGNATURE = "x-wc-webhook-signature"

SHOPIFY_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "refunds/create",
    "customers/create",
    "customers/update",
    "customers/data_request",
    "customers/redact",
    "shop/redact",
)
WOOCOMMERCE_TOPICS = ("order.created", "order.updated", "customer.created", "customer.updated")


def verify(body: bytes, given: str | None, secret_env: str, header: str) -> None:
    """Unauthorized unless `given` is the base64 HMAC-SHA256 of the body under the platform's secret."""
    secret = os.environ.get(secret_env, "")
    if not secret:
        raise Unauthorized(f"this webhook is off: set {secret_env}")
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    if not given or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Unauthorized(f"missing or wrong {header}")


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"the body is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise InputError("the body must be one JSON object")
    return parsed


class ShopWebhooks:
    """What the shop's webhooks do, one delivery at a time."""

    def __init__(self, app: App) -> None:
        self.app = app
        shop = app.settings.shop
        self.currency = shop.currency
        self.by_country = shop.locales_by_country

    # ---- Shopify ---------------------------------------------------------------------------

    def shopify(self, body: bytes, headers: Mapping[str, str], now: datetime) -> dict[str, Any]:
        verify(body, headers.get(SHOPIFY_SIGNATURE), SHOPIFY_SECRET_ENV, "X-Shopify-Hmac-Sha256")
        topic = (headers.get("x-shopify-topic") or "").strip()
        if topic not in SHOPIFY_TOPICS:
            return {"topic": topic, "handled": False, "why": "not a topic reactivator follows"}
        payload = _json(body)
        delivery = headers.get("x-shopify-webhook-id") or headers.get("x-shopify-event-id") or ""
        handlers: dict[str, Callable[[Connection, dict[str, Any], datetime], dict[str, Any]]] = {
            "refunds/create": self._shopify_refund,
            "customers/create": self._shopify_customer,
            "customers/update": self._shopify_customer,
            "customers/data_request": self._shopify_data_request,
            "customers/redact": self._shopify_redact,
            "shop/redact": self._shopify_shop_redact,
        }
        handler = handlers.get(topic, self._shopify_order)
        return self._once(f"shopify:{delivery}" if delivery else None, topic, payload, now, handler)

    def _shopify_order(self, conn: Connection, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        record = self._parse(lambda: shopify.order_payload(payload, self.currency))
        person = payload.get("customer")
        if isinstance(person, dict) and person.get("email_marketing_consent") is not None:
            # A new buyer arrives with the order: their consent comes with them.
            customer = self._parse(lambda: shopify.customer_payload(person, self.by_country))
            customer_rows.upsert_customers(conn, [(1, customer)], now)
        return self._order(conn, record, now)

    def _shopify_customer(self, conn: Connection, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        record = self._parse(lambda: shopify.customer_payload(payload, self.by_country))
        return self._customer(conn, record, now)

    def _shopify_refund(self, conn: Connection, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        order_id = str(payload.get("order_id") or "")
        amounts = [
            t.get("amount")
            for t in payload.get("transactions") or []
            if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status", "success") == "success"
        ]
        try:
            refunded = sum(abs(money(a, "transactions.amount")) for a in amounts)
        except RowError as exc:
            raise InputError(str(exc)) from None
        result = refund(conn, order_id, refunded, now, self.app.attribution)
        return {"order": order_id, "refunded_cents": refunded, "status": result}

    def _shopify_data_request(
        self, conn: Connection, payload: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        person, request = _object(payload.get("customer")), _object(payload.get("data_request"))
        ref = str(person.get("id") or person.get("email") or "")
        request_id = str(request.get("id") or f"{ref}-{now:%Y%m%d%H%M%S}")
        path = write_data_request(self.app, request_id, ref, now) if ref else None
        return {"data_request": request_id, "written": str(path) if path else None}

    def _shopify_redact(self, conn: Connection, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        person = _object(payload.get("customer"))
        erased = []
        for ref in (person.get("id"), person.get("email")):
            found = customer_rows.find_customer(conn, str(ref)) if ref else None
            if found is not None and found.id not in erased:
                customer_rows.erase_customer(conn, found.id, now)
                erased.append(found.id)
        log.info("customers/redact", extra={"erased": len(erased)})
        return {"erased": len(erased)}

    def _shopify_shop_redact(
        self, conn: Connection, payload: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        ids = customer_rows.all_customer_ids(conn)
        for customer_id in ids:
            customer_rows.erase_customer(conn, customer_id, now)
        log.warning("shop/redact: every customer's personal data erased", extra={"erased": len(ids)})
        return {"erased": len(ids)}

    # ---- WooCommerce -----------------------------------------------------------------------

    def woocommerce(self, body: bytes, headers: Mapping[str, str], now: datetime) -> dict[str, Any]:
        verify(body, headers.get(WOOCOMMERCE_SIGNATURE), WOOCOMMERCE_SECRET_ENV, "X-WC-Webhook-Signature")
        topic = (headers.get("x-wc-webhook-topic") or "").strip()
        if body.startswith(b"webhook_id="):  # the ping WooCommerce sends when a webhook is saved
            return {"ping": True}
        if topic not in WOOCOMMERCE_TOPICS:
            return {"topic": topic, "handled": False, "why": "not a topic reactivator follows"}
        payload = _json(body)
        delivery = headers.get("x-wc-webhook-delivery-id") or ""

        def handle(conn: Connection, data: dict[str, Any], at: datetime) -> dict[str, Any]:
            if topic.startswith("order."):
                return self._order(conn, self._parse(lambda: woocommerce.order(data, self.currency)), at)
            return self._customer(conn, self._parse(lambda: woocommerce.customer(data, self.by_country)), at)

        return self._once(f"woocommerce:{delivery}" if delivery else None, topic, payload, now, handle)

    # ---- shared ----------------------------------------------------------------------------

    def _once(
        self,
        delivery: str | None,
        topic: str,
        payload: dict[str, Any],
        now: datetime,
        handler: Callable[[Connection, dict[str, Any], datetime], dict[str, Any]],
    ) -> dict[str, Any]:
        """Handle a delivery unless it was handled before, in one transaction with its record."""
        with self.app.db.write() as conn:
            if delivery is not None and not first_delivery(conn, delivery, topic, now):
                return {"topic": topic, "handled": False, "why": "delivered before"}
            return {"topic": topic, "handled": True, **handler(conn, payload, now)}

    def _parse(self, read: Callable[[], Any]) -> Any:
        try:
            return read()
        except RowError as exc:
            raise InputError(str(exc)) from None

    def _order(self, conn: Connection, record: OrderRecord, now: datetime) -> dict[str, Any]:
        if record.placed_at > now + FUTURE_SLACK:
            raise InputError(f"placed_at {record.placed_at.isoformat()} is in the future")
        found, unknown = orders_by_customer_id(conn, [(1, record)])
        if unknown:
            # Not an error of the sender's: a buyer reactivator does not know (yet). Said, not retried.
            return {"order": record.external_id, "stored": False, "why": unknown[0].reason}
        counts = write_orders(conn, found, now, self.app.attribution)
        if counts.rejected:
            raise InputError(counts.rejected[0].reason)
        return {
            "order": record.external_id,
            "status": record.status,
            "stored": bool(counts.inserted or counts.updated),
            "returned": bool(counts.returned),
            "purchase": record.status == OrderStatus.PLACED.value,
        }

    def _customer(self, conn: Connection, record: CustomerRecord, now: datetime) -> dict[str, Any]:
        counts = customer_rows.upsert_customers(conn, [(1, record)], now)
        if counts.rejected:
            raise InputError(counts.rejected[0].reason)
        return {"customer": record.external_id, "unsubscribed": record.unsubscribed}


def _object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
