"""Small builders for tests: customers and orders through the real write paths."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import select

from reactivator.core.records import CustomerRecord, OrderRecord
from reactivator.db.returns import ReturnedCustomer
from reactivator.db.tables import customers, enrollments, letters
from reactivator.service.app import App
from reactivator.service.imports import record_customers, record_purchase

_order_ids = itertools.count(1)


def customer(external_id: str, **fields: object) -> CustomerRecord:
    email = str(fields.pop("email", f"{external_id.lower()}@example.com"))
    return CustomerRecord(external_id=external_id, email=email, email_key=email.lower(), **fields)  # type: ignore[arg-type]


def add_customer(app: App, external_id: str, now: datetime, **fields: object) -> None:
    assert record_customers(app, [customer(external_id, **fields)], now) == 0


def buy(
    app: App,
    external_id: str,
    placed_at: datetime,
    amount_cents: int = 5000,
    coupon: str | None = None,
    now: datetime | None = None,
    order_id: str | None = None,
) -> list[ReturnedCustomer]:
    record = OrderRecord(
        external_id=order_id or f"O{next(_order_ids)}",
        customer_external_id=external_id,
        placed_at=placed_at,
        amount_cents=amount_cents,
        currency="USD",
        coupon_code=coupon,
    )
    _stored, returned, reason = record_purchase(app, record, now or placed_at)
    assert reason is None, reason
    return returned


def dormant_customer(app: App, external_id: str, now: datetime, days: float, **fields: object) -> None:
    """A customer whose only purchase was `days` ago."""
    add_customer(app, external_id, now - timedelta(days=days + 1), **fields)
    buy(app, external_id, now - timedelta(days=days))


def letters_of(app: App, external_id: str) -> list[dict[str, object]]:
    with app.db.read() as conn:
        query = (
            select(letters)
            .join(customers, customers.c.id == letters.c.customer_id)
            .where(customers.c.external_id == external_id)
            .order_by(letters.c.id)
        )
        return [dict(r._mapping) for r in conn.execute(query)]


def enrollments_of(app: App, external_id: str) -> list[dict[str, object]]:
    with app.db.read() as conn:
        query = (
            select(enrollments)
            .join(customers, customers.c.id == enrollments.c.customer_id)
            .where(customers.c.external_id == external_id)
            .order_by(enrollments.c.id)
        )
        return [dict(r._mapping) for r in conn.execute(query)]


def customer_row(app: App, external_id: str) -> dict[str, object]:
    with app.db.read() as conn:
        row = conn.execute(select(customers).where(customers.c.external_id == external_id)).one()
        return dict(row._mapping)
