"""Order lines: what each order held, written with the order by the one order write path."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from reactivator.core.records import OrderLine
from reactivator.db.dialect import chunks
from reactivator.db.tables import order_lines, orders


def stored_lines(conn: Connection, order_ids: list[int]) -> dict[int, tuple[OrderLine, ...]]:
    """The lines stored for these orders, in their order."""
    found: dict[int, list[OrderLine]] = defaultdict(list)
    for part in chunks(order_ids):
        query = (
            select(order_lines)
            .where(order_lines.c.order_id.in_(part))
            .order_by(order_lines.c.order_id, order_lines.c.line_no)
        )
        for r in conn.execute(query):
            found[r.order_id].append(OrderLine(r.name, r.quantity, r.price_cents, r.sku, r.product_ref))
    return {order_id: tuple(lines) for order_id, lines in found.items()}


def replace_lines(conn: Connection, given: list[tuple[str, tuple[OrderLine, ...]]]) -> None:
    """Store the lines of these orders (by external id, already written), replacing any before.

    An order given without lines keeps what it has: an export without lines says nothing of them.
    """
    with_lines = [(external_id, lines) for external_id, lines in given if lines]
    if not with_lines:
        return
    ids: dict[str, int] = {}
    for part in chunks([external_id for external_id, _ in with_lines]):
        query = select(orders.c.external_id, orders.c.id).where(orders.c.external_id.in_(part))
        ids.update({r.external_id: r.id for r in conn.execute(query)})
    for stale in chunks(list(ids.values())):
        conn.execute(delete(order_lines).where(order_lines.c.order_id.in_(stale)))
    rows: list[dict[str, Any]] = [
        {
            "order_id": ids[external_id],
            "line_no": n,
            "product_ref": line.product_ref,
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "price_cents": line.price_cents,
        }
        for external_id, lines in with_lines
        for n, line in enumerate(lines, start=1)
    ]
    conn.execute(insert(order_lines), rows)
