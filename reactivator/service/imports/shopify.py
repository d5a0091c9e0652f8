"""Shopify's CSV exports (customers, orders, products) and its webhook payloads, as records.

Columns are Shopify's own (the import reads header names in lower case):
- customers: Customer ID ('-prefixed), First Name, Last Name, Email, Accepts
  Email Marketing (older exports: Accepts Marketing), Default Address Country
  Code (older: Country Code), Tags (comma-separated);
- orders: a row per line item, the order's fields on its first row: Name
  (#1001, which groups the rows), Id (the order's key, as in webhooks; Name
  where an export has no Id), Email, Financial Status, Paid at, Currency,
  Total, Refunded Amount, Discount Code, Created at, Cancelled at, Lineitem
  quantity, Lineitem name, Lineitem price, Lineitem sku;
- products: a row per variant or image, the product's on its first row:
  Handle, Title, Variant SKU, Variant Price, Image Src, Type, Status,
  Variant Inventory Qty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reactivator.core.order_status import OrderStatus
from reactivator.core.records import CustomerRecord, OrderLine, OrderRecord, ProductRecord
from reactivator.service.imports import shop_fields as f
from reactivator.service.imports.grouping import LINES
from reactivator.service.imports.rows import RowError, parse_customer

CONSENT_COLUMNS = ("accepts email marketing", "accepts marketing", "accepts sms marketing")
_YES, _NO = ("yes", "true", "1"), ("no", "false", "0")

# Shopify's financial status (and cancellation) to what the order means.
FINANCIAL_STATUS = {
    "paid": OrderStatus.PLACED,
    "partially_paid": OrderStatus.PLACED,
    "partially_refunded": OrderStatus.PLACED,
    "refunded": OrderStatus.REFUNDED,
    "voided": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,
    "pending": OrderStatus.PENDING,
    "authorized": OrderStatus.PENDING,
}


def customer(row: Mapping[str, object], by_country: Mapping[str, str]) -> CustomerRecord:
    """A row of the customers export."""
    email = f.text(row, "email", 320)
    if email is None:
        raise RowError("missing email")
    raw_id = row.get("customer id")
    external_id = f.shop_id(raw_id, "customer id") if raw_id not in (None, "") else email.lower()
    column = "accepts email marketing" if "accepts email marketing" in row else "accepts marketing"
    if column not in row:
        raise RowError("missing Accepts Email Marketing: nobody is mailed without knowing their consent")
    accepts = f.yes_no(row.get(column), column, _YES, _NO)
    country = f.text(row, "default address country code") or f.text(row, "country code")
    locale = f.locale_for(None, country, by_country)
    return parse_customer(
        {
            "id": external_id,
            "email": email,
            "first_name": f.text(row, "first name"),
            "last_name": f.text(row, "last name"),
            "locale": locale,
            "tags": ";".join(sorted(f.tags(f.text(row, "tags", 2000)))),
            "unsubscribed": not accepts,
        }
    )


def status_of(financial: str | None, cancelled_at: str | None) -> OrderStatus:
    if cancelled_at:
        return OrderStatus.CANCELLED
    key = (financial or "").strip().lower()
    if key not in FINANCIAL_STATUS:
        known = ", ".join(FINANCIAL_STATUS)
        raise RowError(f"financial status {financial!r} is not one Shopify writes ({known})")
    return FINANCIAL_STATUS[key]


def order(row: Mapping[str, Any], currency: str) -> OrderRecord:
    """An order of the orders export: its rows grouped by Name."""
    name = f.text(row, "name", 128)
    if name is None:
        raise RowError("missing Name")
    email = f.text(row, "email", 320)
    if email is None:
        raise RowError(f"order {name} has no Email to find its customer by")
    status = status_of(f.text(row, "financial status"), f.text(row, "cancelled at"))
    total = f.money(row.get("total"), "total")
    refunded = f.money(row.get("refunded amount") or "0", "refunded amount")
    paid = f.text(row, "paid at")
    codes = (f.text(row, "discount code") or "").split(",")
    lines = tuple(_line(r) for r in row.get(LINES, [row]) if f.text(r, "lineitem name"))
    return OrderRecord(
        external_id=f.shop_id(row["id"], "id") if row.get("id") else name,
        customer_external_id=email.lower(),
        placed_at=f.shop_time(row.get("created at"), "created at"),
        amount_cents=max(total - refunded, 0),
        currency=(f.text(row, "currency", 3) or currency).upper(),
        coupon_code=codes[0].strip() or None,
        status=status.value,
        paid_at=f.shop_time(paid, "paid at") if paid else None,
        lines=lines,
    )


def _line(row: Mapping[str, Any]) -> OrderLine:
    quantity = f.text(row, "lineitem quantity") or "1"
    if not quantity.isdigit():
        raise RowError(f"Lineitem quantity {quantity!r} is not a whole number")
    return OrderLine(
        name=f.text(row, "lineitem name") or "",
        quantity=int(quantity),
        price_cents=f.money(row.get("lineitem price") or "0", "lineitem price"),
        sku=f.text(row, "lineitem sku", 128),
    )


def product(row: Mapping[str, Any], shop_url: str) -> ProductRecord:
    """A product of the products export: its rows grouped by Handle."""
    handle = f.text(row, "handle", 128)
    title = f.text(row, "title")
    if handle is None or title is None:
        raise RowError("missing Handle or Title")
    rows = row.get(LINES, [row])
    skus = tuple(dict.fromkeys(s for r in rows if (s := f.text(r, "variant sku", 128))))
    stock = [q for r in rows if (q := f.text(r, "variant inventory qty")) is not None]
    in_stock = not stock or any(q.lstrip("-").isdigit() and int(q) > 0 for q in stock)
    active = (f.text(row, "status") or "active").lower() == "active"
    return ProductRecord(
        external_id=handle,
        name=title,
        url=f"{shop_url.rstrip('/')}/products/{handle}",
        price_cents=f.money(row.get("variant price") or "0", "variant price"),
        image_url=f.text(row, "image src", 1000),
        category=(f.text(row, "type") or f.text(row, "product category") or "").lower(),
        in_stock=in_stock and active,
        skus=skus,
    )


# ---- webhook payloads (Shopify's REST objects) ----------------------------------------------


def _object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def order_payload(body: Mapping[str, Any], currency: str) -> OrderRecord:
    """orders/create, orders/paid, orders/cancelled, orders/updated: the order object."""
    if not body.get("id"):
        raise RowError("the order has no id")
    name = f.shop_id(body.get("id"), "id")
    customer_obj = _object(body.get("customer"))
    email = f.text(body, "email", 320) or f.text(customer_obj, "email", 320)
    if email is None:
        raise RowError(f"order {name} has no email to find its customer by")
    status = status_of(f.text(body, "financial_status"), f.text(body, "cancelled_at"))
    total = f.money(body.get("current_total_price") or body.get("total_price"), "total_price")
    codes = body.get("discount_codes") or []
    code = f.text(codes[0], "code", 64) if codes and isinstance(codes[0], dict) else None
    lines = tuple(
        OrderLine(
            name=f.text(item, "name") or f.text(item, "title") or "item",
            quantity=int(item.get("quantity") or 1),
            price_cents=f.money(item.get("price") or "0", "price"),
            sku=f.text(item, "sku", 128),
            product_ref=str(item["product_id"]) if item.get("product_id") else None,
        )
        for item in body.get("line_items") or []
        if isinstance(item, dict)
    )
    paid = f.text(body, "processed_at") if status is OrderStatus.PLACED else None
    return OrderRecord(
        external_id=name,  # Shopify's order id: the key the export's Id column gives too
        customer_external_id=email.lower(),
        placed_at=f.shop_time(body.get("created_at"), "created_at"),
        amount_cents=max(total, 0),
        currency=(f.text(body, "currency", 3) or currency).upper(),
        coupon_code=code,
        status=status.value,
        paid_at=f.shop_time(paid, "processed_at") if paid else None,
        lines=lines,
    )


def customer_payload(body: Mapping[str, Any], by_country: Mapping[str, str]) -> CustomerRecord:
    """customers/create and customers/update: the customer object, consent included."""
    consent = body.get("email_marketing_consent")
    if isinstance(consent, dict):
        state = str(consent.get("state") or "").lower()
        if state not in ("subscribed", "not_subscribed", "unsubscribed", "pending", "redacted", "invalid"):
            raise RowError(f"email_marketing_consent.state {state!r} is not understood")
        accepts = state == "subscribed"  # pending (double opt-in not confirmed) is not consent yet
    elif "accepts_marketing" in body:
        accepts = bool(body["accepts_marketing"])
    else:
        raise RowError("the customer carries no email_marketing_consent: nobody is mailed on a guess")
    address = _object(body.get("default_address"))
    email = f.text(body, "email", 320)
    if email is None:
        raise RowError("the customer has no email")
    raw_tags = body.get("tags")
    tag_text = ",".join(raw_tags) if isinstance(raw_tags, list) else f.text(body, "tags", 2000)
    return parse_customer(
        {
            "id": f.shop_id(body.get("id"), "id"),
            "email": email,
            "first_name": f.text(body, "first_name"),
            "last_name": f.text(body, "last_name"),
            "locale": f.locale_for(f.text(body, "locale", 16), f.text(address, "country_code"), by_country),
            "tags": ";".join(sorted(f.tags(tag_text))),
            "unsubscribed": not accepts,
        }
    )
