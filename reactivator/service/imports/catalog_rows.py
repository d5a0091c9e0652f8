"""reactivator's own catalog files: products, and the lines of orders already imported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reactivator.core.locales import LOCALES
from reactivator.core.records import OrderLine, OrderLinesRecord, ProductRecord
from reactivator.service.imports import shop_fields as f
from reactivator.service.imports.grouping import LINES
from reactivator.service.imports.rows import RowError

_URL_START = ("https://", "http://")


def _url(row: Mapping[str, Any], key: str, *, required: bool) -> str | None:
    value = f.text(row, key, 1000)
    if value is None:
        if required:
            raise RowError(f"missing {key}")
        return None
    if not value.startswith(_URL_START):
        raise RowError(f"{key} {value!r} is not an http(s) address")
    return value


def product(row: Mapping[str, Any]) -> ProductRecord:
    """id (or sku), name, url, price; sku (';' between variants), image_url, category, in_stock,
    and name_<language> (name_ru...) where the shop translates the name."""
    skus = tuple(s.strip() for s in (f.text(row, "sku", 1000) or "").split(";") if s.strip())
    raw_id = f.text(row, "id", 128) or (skus[0] if skus else None)
    if raw_id is None:
        raise RowError("missing id (or sku)")
    name = f.text(row, "name")
    if name is None:
        raise RowError("missing name")
    stock = f.text(row, "in_stock")
    in_stock = (
        True if stock is None else f.yes_no(stock, "in_stock", ("1", "true", "yes"), ("0", "false", "no"))
    )
    names = tuple((loc, n) for loc in LOCALES if (n := f.text(row, f"name_{loc}")))
    url = _url(row, "url", required=True)
    assert url is not None
    return ProductRecord(
        external_id=raw_id,
        name=name,
        url=url,
        price_cents=f.money(row.get("price"), "price"),
        image_url=_url(row, "image_url", required=False),
        category=(f.text(row, "category", 200) or "").lower(),
        in_stock=in_stock,
        names=names,
        skus=skus,
    )


def order_lines(row: Mapping[str, Any]) -> OrderLinesRecord:
    """order_id, name, quantity, price; sku, product_id: one row a line, grouped by order_id."""
    order_id = f.text(row, "order_id", 128)
    if order_id is None:
        raise RowError("missing order_id")
    lines = []
    for r in row.get(LINES, [row]):
        quantity = f.text(r, "quantity") or "1"
        if not quantity.isdigit():
            raise RowError(f"quantity {quantity!r} is not a whole number")
        name = f.text(r, "name")
        if name is None:
            raise RowError("missing name")
        lines.append(
            OrderLine(
                name=name,
                quantity=int(quantity),
                price_cents=f.money(r.get("price"), "price"),
                sku=f.text(r, "sku", 128),
                product_ref=f.text(r, "product_id", 128),
            )
        )
    return OrderLinesRecord(order_id, tuple(lines))
