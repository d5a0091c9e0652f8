"""Recommendations in the database: products bought together (set-based), the catalog as core reads
it, customers' histories, and the products each letter shows."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from reactivator.core.model import LetterStatus
from reactivator.core.order_status import OrderStatus
from reactivator.core.recommend import Catalog, History, Product
from reactivator.db.catalog import link_lines
from reactivator.db.dialect import chunks
from reactivator.db.letter_products import picks_of, store_picks
from reactivator.db.tables import (
    catalog_state,
    letters,
    order_lines,
    orders,
    product_pairs,
    products,
)

PARTNERS_KEPT = 12  # the most frequent partners kept per product
BESTSELLERS = 40
BESTSELLER_DAYS = 90


__all__ = ["histories", "letters_needing_picks", "load_catalog", "picks_of", "refresh_pairs", "store_picks"]


def pairs_refreshed_at(conn: Connection) -> datetime | None:
    return conn.execute(select(catalog_state.c.pairs_refreshed_at).where(catalog_state.c.id == 1)).scalar()


def has_catalog(conn: Connection) -> bool:
    return conn.execute(select(products.c.id).limit(1)).first() is not None


def refresh_pairs(conn: Connection, now: datetime) -> int:
    """Rebuild "bought together" from every order, in one statement; returns the pairs kept.

    Every order counts, cancelled ones too: what people put in one basket is what
    goes together, whether or not the order went through. Two covering indexes
    make it a join of two index scans.
    """
    link_lines(conn)
    conn.execute(delete(product_pairs))
    a, b = order_lines.alias("a"), order_lines.alias("b")
    together = func.count().label("together")
    counted = (
        select(a.c.product_id.label("product_id"), b.c.product_id.label("related_id"), together)
        .select_from(a.join(b, (b.c.order_id == a.c.order_id) & (b.c.product_id != a.c.product_id)))
        .where(a.c.product_id.is_not(None), b.c.product_id.is_not(None))
        .group_by(a.c.product_id, b.c.product_id)
        .subquery()
    )
    rank = (
        func.row_number()
        .over(partition_by=counted.c.product_id, order_by=(counted.c.together.desc(), counted.c.related_id))
        .label("rank")
    )
    ranked = select(counted.c.product_id, counted.c.related_id, counted.c.together, rank).subquery()
    kept = select(ranked.c.product_id, ranked.c.related_id, ranked.c.together).where(
        ranked.c.rank <= PARTNERS_KEPT
    )
    written = conn.execute(
        insert(product_pairs).from_select(["product_id", "related_id", "orders"], kept)
    ).rowcount
    stamp = update(catalog_state).where(catalog_state.c.id == 1).values(pairs_refreshed_at=now)
    if not conn.execute(stamp).rowcount:
        conn.execute(insert(catalog_state).values(id=1, pairs_refreshed_at=now))
    return int(written)


def load_catalog(conn: Connection, now: datetime) -> Catalog:
    """The catalog as core.recommend reads it."""
    found: dict[int, Product] = {}
    for r in conn.execute(select(products)):
        names = json.loads(r.names) if r.names else {}
        found[r.id] = Product(
            r.id, r.name, r.url, int(r.price_cents), r.image_url, r.category, bool(r.in_stock), names
        )
    related: dict[int, list[int]] = defaultdict(list)
    pairs = select(product_pairs).order_by(
        product_pairs.c.product_id, product_pairs.c.orders.desc(), product_pairs.c.related_id
    )
    for r in conn.execute(pairs):
        related[r.product_id].append(r.related_id)
    sold = func.sum(order_lines.c.quantity).label("sold")
    lately = select(orders.c.id).where(
        orders.c.status == OrderStatus.PLACED.value,
        orders.c.placed_at >= now - timedelta(days=BESTSELLER_DAYS),
    )
    # The recent orders first, then their lines by index: not every line, then its order.
    recent = (
        select(order_lines.c.product_id, sold)
        .where(order_lines.c.order_id.in_(lately), order_lines.c.product_id.is_not(None))
        .group_by(order_lines.c.product_id)
    )
    counts = {int(pid): int(n) for pid, n in conn.execute(recent)}
    by_sales = sorted(found, key=lambda pid: (-counts.get(pid, 0), pid))
    by_category: dict[str, list[int]] = defaultdict(list)
    for pid in by_sales:
        if found[pid].category:
            by_category[found[pid].category].append(pid)
    bestsellers = tuple(pid for pid in by_sales if counts.get(pid) and found[pid].in_stock)[:BESTSELLERS]
    return Catalog(
        products=found,
        related={k: tuple(v) for k, v in related.items()},
        by_category={k: tuple(v) for k, v in by_category.items()},
        bestsellers=bestsellers,
    )


def histories(conn: Connection, catalog: Catalog, customers: Any) -> dict[int, History]:
    """What customers bought: products and categories, the most bought first.

    `customers` is a list of ids, or a subquery of them (the letters a pass queued).
    """
    owned: dict[int, dict[int, int]] = defaultdict(dict)
    parts: list[Any] = chunks(sorted(set(customers))) if isinstance(customers, list) else [customers]
    for part in parts:
        query = (
            select(orders.c.customer_id, order_lines.c.product_id, order_lines.c.quantity)
            .select_from(orders.join(order_lines, order_lines.c.order_id == orders.c.id))
            .where(
                orders.c.customer_id.in_(part),
                orders.c.status == OrderStatus.PLACED.value,
                order_lines.c.product_id.is_not(None),
            )
        )
        for cid, pid, quantity in conn.execute(query):
            mine = owned[cid]
            mine[pid] = mine.get(pid, 0) + int(quantity)
    found = {}
    for cid, mine in owned.items():
        kinds: dict[str, int] = {}
        for pid, n in mine.items():
            product = catalog.products.get(pid)
            if product is not None and product.category:
                kinds[product.category] = kinds.get(product.category, 0) + n
        found[cid] = History(
            owned=tuple(sorted(mine, key=lambda p: (-mine[p], p))),
            categories=tuple(sorted(kinds, key=lambda c: (-kinds[c], c))),
        )
    return found


def queued_customers(queued_at: datetime) -> Any:
    """The customers of the letters a pass queued at `queued_at` to be sent, as a subquery."""
    return select(letters.c.customer_id).where(
        letters.c.queued_at == queued_at, letters.c.status == LetterStatus.QUEUED.value
    )


def letters_needing_picks(conn: Connection, queued_at: datetime) -> Iterator[tuple[int, int, str]]:
    """(letter id, customer id, step key) of the letters a pass just queued to be sent."""
    query = (
        select(letters.c.id, letters.c.customer_id, letters.c.step_key)
        .where(letters.c.queued_at == queued_at, letters.c.status == LetterStatus.QUEUED.value)
        .order_by(letters.c.id)
    )
    for r in conn.execute(query):
        yield int(r.id), int(r.customer_id), str(r.step_key)
