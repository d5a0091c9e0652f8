"""Everything held about one customer, as plain data: for a data request (GDPR art. 15, Shopify's
customers/data_request). Signing keys and link tokens are not about the customer and stay out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from reactivator.db.customers import email_hash
from reactivator.db.tables import (
    customers,
    engagements,
    enrollments,
    feedback_events,
    letters,
    order_lines,
    orders,
    replies,
    suppressions,
    survey_answers,
)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _rows(conn: Connection, query: Any, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row._mapping.items() if k not in drop} for row in conn.execute(query)]


def customer_data(conn: Connection, customer_id: int) -> dict[str, Any]:
    """The customer, their orders with lines, enrollments, letters, opens and clicks, survey answers,
    what came back about their letters and what they wrote back."""
    (person,) = _rows(conn, select(customers).where(customers.c.id == customer_id), ("id", "email_key"))
    order_rows = _rows(
        conn, select(orders).where(orders.c.customer_id == customer_id).order_by(orders.c.placed_at)
    )
    ids = [o["id"] for o in order_rows]
    lines = _rows(conn, select(order_lines).where(order_lines.c.order_id.in_(ids)).order_by(order_lines.c.id))
    for o in order_rows:
        o["lines"] = [
            {k: v for k, v in line.items() if k not in ("id", "order_id", "product_id")}
            for line in lines
            if line["order_id"] == o["id"]
        ]
    hidden = ("lease_until", "leased_by", "customer_id")
    letter_rows = _rows(
        conn, select(letters).where(letters.c.customer_id == customer_id).order_by(letters.c.id), hidden
    )
    key = conn.execute(select(customers.c.email_key).where(customers.c.id == customer_id)).scalar()
    suppressed = None
    if key:
        suppressed = conn.execute(
            select(suppressions.c.reason, suppressions.c.created_at).where(
                suppressions.c.email_hash == email_hash(key)
            )
        ).first()
    return {
        "customer": person,
        "orders": [{k: v for k, v in o.items() if k != "customer_id"} for o in order_rows],
        "enrollments": _rows(
            conn, select(enrollments).where(enrollments.c.customer_id == customer_id), ("customer_id",)
        ),
        "letters": letter_rows,
        "opens_and_clicks": _rows(
            conn, select(engagements).where(engagements.c.customer_id == customer_id), ("customer_id",)
        ),
        "survey_answers": _rows(
            conn, select(survey_answers).where(survey_answers.c.customer_id == customer_id), ("customer_id",)
        ),
        "feedback": _rows(
            conn,
            select(feedback_events).where(feedback_events.c.customer_id == customer_id),
            ("customer_id",),
        ),
        "replies": _rows(conn, select(replies).where(replies.c.customer_id == customer_id), ("customer_id",)),
        "suppressed": None
        if suppressed is None
        else {"reason": suppressed.reason, "since": _plain(suppressed.created_at)},
    }
