"""The products each letter shows, as a pass chose them (core/recommend.py)."""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import Connection, select

from reactivator.core.recommend import Pick, Product
from reactivator.db import raw
from reactivator.db.dialect import chunks
from reactivator.db.tables import letter_products, products


def store_picks(conn: Connection, picks: dict[int, list[Pick]]) -> int:
    """The products chosen for each letter (by letter id), in order."""
    ph = raw.placeholder(conn)
    columns = "letter_id, position, product_id, source, why"
    sql = f"INSERT INTO letter_products ({columns}) VALUES ({', '.join([ph] * 5)})"
    rows = [
        (lid, n, p.product.id, p.source, p.why[:300])
        for lid, chosen in picks.items()
        for n, p in enumerate(chosen, start=1)
    ]
    for start in range(0, len(rows), 50_000):
        raw.execute_many(conn, sql, rows[start : start + 50_000])
    return len(rows)


def picks_of(conn: Connection, letter_ids: list[int]) -> dict[int, list[Pick]]:
    """The products stored for these letters, in order, with their catalog entries."""
    found: dict[int, list[Pick]] = defaultdict(list)
    for part in chunks(letter_ids):
        query = (
            select(letter_products, products)
            .join(products, products.c.id == letter_products.c.product_id)
            .where(letter_products.c.letter_id.in_(part))
            .order_by(letter_products.c.letter_id, letter_products.c.position)
        )
        for r in conn.execute(query):
            names = json.loads(r.names) if r.names else {}
            product = Product(
                r.product_id,
                r.name,
                r.url,
                int(r.price_cents),
                r.image_url,
                r.category,
                bool(r.in_stock),
                names,
            )
            found[r.letter_id].append(Pick(product, r.source, r.why))
    return dict(found)
