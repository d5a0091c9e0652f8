"""WooCommerce's data as records: its REST API objects (JSON lines, and its webhook payloads)
and its product CSV export.

- orders (REST `GET /wp-json/wc/v3/orders`, one object a line): id, status,
  currency, date_created_gmt, date_paid_gmt, total, billing.email, line_items
  (name, quantity, price, sku, product_id), coupon_lines (code), refunds (total);
- customers (`/customers`): id, email, first_name, last_name, billing.country,
  and marketing consent where a plugin keeps it in meta_data (a key with
  "consent", "marketing", "newsletter", "subscri" or "opt-in" in its name);
- products (the CSV of Products > Export): ID, Type, SKU, Name, Published, In
  stock?, Regular price, Categories, Images, Parent; a variation's SKU belongs
  to its parent product.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reactivator.core.order_status import OrderStatus
from reactivator.core.records import CustomerRecord, OrderLine, OrderRecord, ProductRecord
from reactivator.service.imports import shop_fields as f
from reactivator.service.imports.rows import RowError, parse_customer

STATUS = {
    "pending": OrderStatus.PENDING,
    "on-hold": OrderStatus.PENDING,
    "checkout-draft": OrderStatus.PENDING,
    "draft": OrderStatus.PENDING,
    "processing": OrderStatus.PLACED,
    "completed": OrderStatus.PLACED,
    "cancelled": OrderStatus.CANCELLED,
    "failed": OrderStatus.CANCELLED,
    "trash": OrderStatus.CANCELLED,
    "refunded": OrderStatus.REFUNDED,
}
_YES = ("yes", "true", "1", "subscribed", "on")
_NO = ("no", "false", "0", "unsubscribed", "not_subscribed", "off", "")


def _object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def order(body: Mapping[str, Any], currency: str) -> OrderRecord:
    """An order object of the REST API (an import line, or an order.* webhook's body)."""
    external_id = f.shop_id(body.get("id"), "id")
    raw_status = str(body.get("status") or "").lower()
    if raw_status not in STATUS:
        raise RowError(
            f"status {body.get('status')!r} is not a WooCommerce order status ({', '.join(STATUS)})"
        )
    email = f.text(_object(body.get("billing")), "email", 320)
    if email is None:
        raise RowError(f"order {external_id} has no billing email to find its customer by")
    refunds = sum(abs(f.money(r.get("total") or "0", "refunds.total")) for r in body.get("refunds") or [])
    total = f.money(body.get("total"), "total")
    coupons = [c for c in body.get("coupon_lines") or [] if isinstance(c, dict) and c.get("code")]
    paid = body.get("date_paid_gmt")
    created = body.get("date_created_gmt") or body.get("date_created")
    return OrderRecord(
        external_id=external_id,
        customer_external_id=email.lower(),
        placed_at=f.shop_time(created, "date_created_gmt"),
        amount_cents=max(total - refunds, 0),
        currency=(f.text(body, "currency", 3) or currency).upper(),
        coupon_code=f.text(coupons[0], "code", 64) if coupons else None,
        status=STATUS[raw_status].value,
        paid_at=f.shop_time(paid, "date_paid_gmt") if paid else None,
        lines=tuple(_line(item) for item in body.get("line_items") or [] if isinstance(item, dict)),
    )


def _line(item: Mapping[str, Any]) -> OrderLine:
    quantity = item.get("quantity") or 1
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise RowError(f"line item quantity {quantity!r} is not a whole number")
    product_id = item.get("variation_id") or item.get("product_id")
    return OrderLine(
        name=f.text(item, "name") or "item",
        quantity=quantity,
        price_cents=f.money(item.get("price") if item.get("price") is not None else "0", "price"),
        sku=f.text(item, "sku", 128),
        product_ref=str(item.get("product_id")) if product_id else None,
    )


def consent(body: Mapping[str, Any]) -> bool | None:
    """What the customer said about marketing mail, if a plugin recorded it (None: nothing)."""
    for meta in body.get("meta_data") or []:
        if not isinstance(meta, dict):
            continue
        key = str(meta.get("key") or "").lower()
        if any(word in key for word in f.CONSENT_WORDS):
            return f.yes_no(meta.get("value"), f"meta_data {key}", _YES, _NO)
    return None


def customer(body: Mapping[str, Any], by_country: Mapping[str, str]) -> CustomerRecord:
    """A customer object of the REST API (an import line, or a customer.* webhook's body)."""
    email = f.text(body, "email", 320)
    if email is None:
        raise RowError("missing email")
    accepts = consent(body)
    billing = _object(body.get("billing"))
    return parse_customer(
        {
            "id": f.shop_id(body.get("id"), "id"),
            "email": email,
            "first_name": f.text(body, "first_name") or f.text(billing, "first_name"),
            "last_name": f.text(body, "last_name") or f.text(billing, "last_name"),
            "locale": f.locale_for(None, f.text(billing, "country"), by_country),
            "unsubscribed": accepts is False,
        }
    )


def product(row: Mapping[str, Any], shop_url: str) -> ProductRecord:
    """A row of the products CSV export."""
    external_id = f.shop_id(row.get("id"), "ID")
    kind = (f.text(row, "type") or "simple").lower()
    sku = f.text(row, "sku", 128)
    if kind == "variation":
        parent = (f.text(row, "parent") or "").removeprefix("id:")
        if not parent:
            raise RowError("a variation without its Parent")
        return ProductRecord(
            external_id=parent, name="", url="", price_cents=0, skus=(sku,) if sku else (), variant=True
        )
    name = f.text(row, "name")
    if name is None:
        raise RowError("missing Name")
    categories = (f.text(row, "categories", 1000) or "").split(",")
    category = categories[0].split(">")[-1].strip().lower() if categories[0] else ""
    images = (f.text(row, "images", 4000) or "").split(",")
    published = (f.text(row, "published") or "1") in ("1", "-1")
    in_stock = (f.text(row, "in stock?") or "1") in ("1", "yes", "instock")
    price = row.get("sale price") or row.get("regular price") or "0"
    return ProductRecord(
        external_id=external_id,
        name=name,
        url=f"{shop_url.rstrip('/')}/?post_type=product&p={external_id}",
        price_cents=f.money(price, "regular price"),
        image_url=images[0].strip() or None,
        category=category,
        in_stock=in_stock and published,
        skus=(sku,) if sku else (),
    )
