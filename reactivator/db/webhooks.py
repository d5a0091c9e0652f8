"""Webhook deliveries already handled: a redelivery (same platform, same delivery id) changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from reactivator.db.dialect import insert_for
from reactivator.db.tables import webhook_deliveries


def first_delivery(conn: Connection, delivery_id: str, topic: str, now: datetime) -> bool:
    """Remember this delivery (inside the caller's write); False if it was handled before."""
    if conn.execute(select(webhook_deliveries.c.id).where(webhook_deliveries.c.id == delivery_id)).first():
        return False
    stmt = insert_for(conn)(webhook_deliveries).values(
        id=delivery_id[:200], topic=topic[:100], received_at=now
    )
    return bool(conn.execute(stmt.on_conflict_do_nothing()).rowcount)
