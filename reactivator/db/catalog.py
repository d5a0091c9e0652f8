"""The product catalog: products and their SKUs, order lines linked to products."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update

from reactivator.core.records import OrderLinesRecord, ProductRecord, Rejection
from reactivator.db.customers import UpsertCounts
from reactivator.db.dialect import chunks
from reactivator.db.order_lines import replace_lines, stored_lines
from reactivator.db.tables import order_lines, orders, product_skus, products

_FIELDS = ("name", "names", "url", "image_url", "price_cents", "category", "in_stock")


def _values(rec: ProductRecord) -> dict[str, Any]:
    return {
        "name": rec.name,
        "names": json.dumps(dict(rec.names), ensure_ascii=False, sort_keys=True) if rec.names else None,
        "url": rec.url,
        "image_url": rec.image_url,
        "price_cents": rec.price_cents,
        "category": rec.category,
        "in_stock": rec.in_stock,
    }


def upsert_products(
    conn: Connection, batch: list[tuple[int, ProductRecord]], now: datetime, *, from_file: bool = False
) -> UpsertCounts:
    """Insert new products, update changed ones, and map every SKU given to its product.

    A variant record (a WooCommerce variation) adds its SKUs to its parent product.
    """
    counts = UpsertCounts()
    existing: dict[str, Any] = {}
    for part in chunks(list({rec.external_id for _, rec in batch})):
        for row in conn.execute(select(products).where(products.c.external_id.in_(part))):
            existing[row.external_id] = row
    seen: dict[str, int] = {}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    skus: list[tuple[str, str]] = []  # (sku, product external id)
    for line, rec in batch:
        if rec.variant:
            if rec.external_id not in existing and rec.external_id not in seen:
                counts.rejected.append(
                    Rejection(line, f"a variation of {rec.external_id!r}, which is not known")
                )
                continue
            skus.extend((sku, rec.external_id) for sku in rec.skus)
            counts.unchanged += 1
            continue
        if rec.external_id in seen:
            counts.rejected.append(
                Rejection(
                    line, f"duplicate product id {rec.external_id!r} (first on line {seen[rec.external_id]})"
                )
            )
            continue
        seen[rec.external_id] = line
        skus.extend((sku, rec.external_id) for sku in rec.skus)
        values = _values(rec)
        old = existing.get(rec.external_id)
        if old is None:
            inserts.append(values | {"external_id": rec.external_id, "updated_at": now})
        elif from_file and old.updated_at == now:
            counts.rejected.append(
                Rejection(line, f"duplicate product id {rec.external_id!r} (earlier in this file)")
            )
        elif any(getattr(old, name) != values[name] for name in _FIELDS):
            updates.append(values | {"pid": old.id, "updated_at": now})
        else:
            counts.unchanged += 1
    if inserts:
        conn.execute(insert(products), inserts)
    if updates:
        conn.execute(
            update(products)
            .where(products.c.id == bindparam("pid"))
            .values({name: bindparam(name) for name in (*_FIELDS, "updated_at")}),
            updates,
        )
    _map_skus(conn, skus)
    counts.inserted += len(inserts)
    counts.updated += len(updates)
    return counts


def _map_skus(conn: Connection, pairs: list[tuple[str, str]]) -> None:
    """Point each SKU at its product (a SKU that moved to another product moves with it)."""
    if not pairs:
        return
    ids: dict[str, int] = {}
    for part in chunks(list({ext for _, ext in pairs})):
        query = select(products.c.external_id, products.c.id).where(products.c.external_id.in_(part))
        ids.update({r.external_id: r.id for r in conn.execute(query)})
    rows = {sku: ids[ext] for sku, ext in pairs if ext in ids}
    for part in chunks(list(rows)):
        conn.execute(delete(product_skus).where(product_skus.c.sku.in_(part)))
    conn.execute(insert(product_skus), [{"sku": sku, "product_id": pid} for sku, pid in rows.items()])


def write_order_lines(conn: Connection, batch: list[tuple[int, OrderLinesRecord]]) -> UpsertCounts:
    """The lines of orders already imported, replacing what was stored for them."""
    counts = UpsertCounts()
    known: dict[str, int] = {}
    for part in chunks(list({rec.order_external_id for _, rec in batch})):
        query = select(orders.c.external_id, orders.c.id).where(orders.c.external_id.in_(part))
        known.update({r.external_id: r.id for r in conn.execute(query)})
    stored = stored_lines(conn, list(known.values()))
    changed = []
    for line, rec in batch:
        order_id = known.get(rec.order_external_id)
        if order_id is None:
            counts.rejected.append(
                Rejection(line, f"unknown order {rec.order_external_id!r}; import it first")
            )
        elif stored.get(order_id, ()) == rec.lines:
            counts.unchanged += 1
        else:
            changed.append(rec)
            counts.updated += order_id in stored
            counts.inserted += order_id not in stored
    replace_lines(conn, [(rec.order_external_id, rec.lines) for rec in changed])
    return counts


def link_lines(conn: Connection) -> None:
    """Link order lines not linked yet to their product: by the shop's product id, then by SKU."""
    by_ref = (
        select(products.c.id).where(products.c.external_id == order_lines.c.product_ref).scalar_subquery()
    )
    conn.execute(
        update(order_lines)
        .where(and_(order_lines.c.product_id.is_(None), order_lines.c.product_ref.is_not(None)))
        .values(product_id=by_ref)
    )
    by_sku = (
        select(product_skus.c.product_id).where(product_skus.c.sku == order_lines.c.sku).scalar_subquery()
    )
    conn.execute(
        update(order_lines)
        .where(and_(order_lines.c.product_id.is_(None), order_lines.c.sku.is_not(None)))
        .values(product_id=by_sku)
    )
