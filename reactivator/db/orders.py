"""Order writes: the single path for imports, `reactivator purchase` and the webhook.

In one transaction per batch: store the orders (idempotent by external id),
refresh each customer's denormalised aggregates (last purchase, counts, value),
attribute coupon codes to the letters that carried them, and end enrollments
of customers who came back: returned means a new purchase.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from reactivator.core.coupons import normalise_coupon
from reactivator.core.model import EnrollmentKind, EnrollmentStatus, LadderState, LetterStatus
from reactivator.core.records import OrderRecord, Rejection
from reactivator.core.returns import EnrollmentSnapshot, OrderEffect, order_effect
from reactivator.core.value import annual_value_cents
from reactivator.db.customers import UpsertCounts, _chunks
from reactivator.db.passes import insert_for
from reactivator.db.tables import customers, enrollments, letters, orders


@dataclass(frozen=True, slots=True)
class ReturnedCustomer:
    customer_external_id: str
    order_external_id: str
    amount_cents: int
    step_key: str | None


@dataclass
class OrderCounts(UpsertCounts):
    returned: list[ReturnedCustomer] = field(default_factory=list)


@dataclass
class _Aggregate:
    id: int
    orders_count: int
    revenue_cents: int
    first: datetime | None
    last: datetime | None

    def add(self, placed_at: datetime, amount_cents: int) -> None:
        self.orders_count += 1
        self.revenue_cents += amount_cents
        self.first = placed_at if self.first is None else min(self.first, placed_at)
        self.last = placed_at if self.last is None else max(self.last, placed_at)


def write_orders(
    conn: Connection, batch: list[tuple[int, OrderRecord]], now: datetime, attribution: timedelta
) -> OrderCounts:
    """Store a batch of orders and everything that follows from them."""
    counts = OrderCounts()
    # Codes are matched case-insensitively, whichever door the order came in by.
    batch = [(line, _normalised(rec)) for line, rec in batch]
    known = _lock_customers(conn, list({rec.customer_external_id for _, rec in batch}))
    accepted: list[tuple[int, OrderRecord]] = []
    first_line: dict[str, int] = {}
    for line, rec in batch:
        if rec.customer_external_id not in known:
            counts.rejected.append(Rejection(line, f"unknown customer {rec.customer_external_id!r}"))
        elif rec.external_id in first_line:
            counts.rejected.append(
                Rejection(
                    line,
                    f"duplicate order id {rec.external_id!r} (first on line {first_line[rec.external_id]})",
                )
            )
        else:
            first_line[rec.external_id] = line
            accepted.append((line, rec))
    if not accepted:
        return counts

    rows = [
        {
            "external_id": rec.external_id,
            "customer_id": known[rec.customer_external_id].id,
            "placed_at": rec.placed_at,
            "amount_cents": rec.amount_cents,
            "currency": rec.currency,
            "coupon_code": rec.coupon_code,
            "created_at": now,
        }
        for _, rec in accepted
    ]
    ins = insert_for(conn)
    stmt = (
        ins(orders)
        .on_conflict_do_nothing(index_elements=["external_id"])
        .returning(orders.c.external_id, orders.c.id)
    )
    inserted = {r.external_id: r.id for r in conn.execute(stmt, rows)}
    counts.inserted = len(inserted)

    new_orders = [(line, rec) for line, rec in accepted if rec.external_id in inserted]
    recompute = _apply_changes(conn, [p for p in accepted if p[1].external_id not in inserted], known, counts)

    by_id = {agg.id: agg for agg in known.values()}
    for _, rec in new_orders:
        agg = known[rec.customer_external_id]
        if agg.id not in recompute:
            agg.add(rec.placed_at, rec.amount_cents)
    _recompute(conn, recompute, by_id)
    touched = {known[rec.customer_external_id].id for _, rec in new_orders} | recompute
    _store_aggregates(conn, [by_id[cid] for cid in touched], now)

    coupon_orders = [(inserted[rec.external_id], rec) for _, rec in new_orders if rec.coupon_code]
    letter_of_order = _attribute_coupons(conn, coupon_orders, known)
    changed_orders = [(rec, known[rec.customer_external_id].id) for _, rec in accepted]
    counts.returned = _settle_enrollments(conn, changed_orders, inserted, letter_of_order, now, attribution)
    return counts


def _normalised(rec: OrderRecord) -> OrderRecord:
    if rec.coupon_code is None or rec.coupon_code == normalise_coupon(rec.coupon_code):
        return rec
    return replace(rec, coupon_code=normalise_coupon(rec.coupon_code) or None)


def _lock_customers(conn: Connection, external_ids: list[str]) -> dict[str, _Aggregate]:
    """Load (and on PostgreSQL lock, in id order) the customers this batch touches."""
    found: dict[str, _Aggregate] = {}
    for part in _chunks(external_ids):
        query = (
            select(
                customers.c.id,
                customers.c.external_id,
                customers.c.orders_count,
                customers.c.revenue_cents,
                customers.c.first_purchase_at,
                customers.c.last_purchase_at,
            )
            .where(customers.c.external_id.in_(part))
            .order_by(customers.c.id)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        for r in conn.execute(query):
            found[r.external_id] = _Aggregate(
                r.id, r.orders_count, r.revenue_cents, r.first_purchase_at, r.last_purchase_at
            )
    return found


def _apply_changes(
    conn: Connection,
    candidates: list[tuple[int, OrderRecord]],
    known: dict[str, _Aggregate],
    counts: OrderCounts,
) -> set[int]:
    """Orders already stored: identical ones change nothing; corrected ones are updated."""
    if not candidates:
        return set()
    stored: dict[str, Any] = {}
    for part in _chunks([rec.external_id for _, rec in candidates]):
        for r in conn.execute(select(orders).where(orders.c.external_id.in_(part))):
            stored[r.external_id] = r
    recompute: set[int] = set()
    updates: list[dict[str, Any]] = []
    for line, rec in candidates:
        old = stored[rec.external_id]
        customer_id = known[rec.customer_external_id].id
        if old.customer_id != customer_id:
            counts.rejected.append(
                Rejection(line, f"order {rec.external_id!r} already belongs to another customer")
            )
            continue
        same = (old.placed_at, old.amount_cents, old.currency, old.coupon_code) == (
            rec.placed_at,
            rec.amount_cents,
            rec.currency,
            rec.coupon_code,
        )
        if same:
            counts.unchanged += 1
            continue
        updates.append(
            {
                "oid": old.id,
                "placed_at": rec.placed_at,
                "amount_cents": rec.amount_cents,
                "currency": rec.currency,
                "coupon_code": rec.coupon_code,
            }
        )
        recompute.add(customer_id)
    if updates:
        conn.execute(
            update(orders)
            .where(orders.c.id == bindparam("oid"))
            .values(
                placed_at=bindparam("placed_at", type_=orders.c.placed_at.type),
                amount_cents=bindparam("amount_cents"),
                currency=bindparam("currency"),
                coupon_code=bindparam("coupon_code"),
            ),
            updates,
        )
        counts.updated += len(updates)
    return recompute


def _recompute(conn: Connection, customer_ids: set[int], by_id: dict[int, _Aggregate]) -> None:
    """Aggregates from scratch, for customers whose stored orders were corrected."""
    for part in _chunks(sorted(customer_ids)):
        query = (
            select(
                orders.c.customer_id,
                func.count(),
                func.sum(orders.c.amount_cents),
                func.min(orders.c.placed_at),
                func.max(orders.c.placed_at),
            )
            .where(orders.c.customer_id.in_(part))
            .group_by(orders.c.customer_id)
        )
        for cid, n, total, first, last in conn.execute(query):
            agg = by_id[cid]
            agg.orders_count, agg.revenue_cents = int(n), int(total)
            # min()/max() keep the column type, so these come back as aware datetimes.
            agg.first, agg.last = first, last


def _store_aggregates(conn: Connection, aggregates: list[_Aggregate], now: datetime) -> None:
    if not aggregates:
        return
    stmt = (
        update(customers)
        .where(customers.c.id == bindparam("cid"))
        .values(
            orders_count=bindparam("n"),
            revenue_cents=bindparam("revenue"),
            annual_value_cents=bindparam("annual"),
            first_purchase_at=bindparam("first", type_=customers.c.first_purchase_at.type),
            last_purchase_at=bindparam("last", type_=customers.c.last_purchase_at.type),
            updated_at=bindparam("now", type_=customers.c.updated_at.type),
        )
    )
    conn.execute(
        stmt,
        [
            {
                "cid": a.id,
                "n": a.orders_count,
                "revenue": a.revenue_cents,
                "annual": annual_value_cents(a.revenue_cents, a.first, a.last),
                "first": a.first,
                "last": a.last,
                "now": now,
            }
            for a in sorted(aggregates, key=lambda a: a.id)
        ],
    )


def _attribute_coupons(
    conn: Connection, coupon_orders: list[tuple[int, OrderRecord]], known: dict[str, _Aggregate]
) -> dict[int, int]:
    """Link each order that used a letter's coupon to that letter; a code counts once."""
    if not coupon_orders:
        return {}
    codes = list({rec.coupon_code for _, rec in coupon_orders if rec.coupon_code})
    letter_by_code: dict[str, int] = {}
    used: set[int] = set()
    for part in _chunks(codes):
        for r in conn.execute(
            select(letters.c.id, letters.c.coupon_code).where(letters.c.coupon_code.in_(part))
        ):
            letter_by_code[r.coupon_code] = r.id
    if letter_by_code:
        used_query = select(orders.c.letter_id).where(orders.c.letter_id.in_(list(letter_by_code.values())))
        used = {r.letter_id for r in conn.execute(used_query)}
    linked: dict[int, int] = {}
    for order_id, rec in sorted(coupon_orders, key=lambda p: p[1].placed_at):
        letter_id = letter_by_code.get(rec.coupon_code or "")
        if letter_id is None or letter_id in used:
            continue  # not one of ours, or single use already spent
        used.add(letter_id)
        linked[order_id] = letter_id
    if linked:
        conn.execute(
            update(orders).where(orders.c.id == bindparam("oid")).values(letter_id=bindparam("lid")),
            [{"oid": o, "lid": lid} for o, lid in linked.items()],
        )
    return linked


def _settle_enrollments(
    conn: Connection,
    changed: list[tuple[OrderRecord, int]],
    inserted: dict[str, int],
    letter_of_order: dict[int, int],
    now: datetime,
    attribution: timedelta,
) -> list[ReturnedCustomer]:
    """Apply 'returned means a new purchase' to the enrollments of these customers."""
    customer_ids = list({cid for _, cid in changed})
    running: dict[int, Any] = {}
    for part in _chunks(customer_ids):
        query = (
            select(enrollments)
            .where(
                enrollments.c.customer_id.in_(part),
                enrollments.c.status.in_([EnrollmentStatus.ACTIVE.value, EnrollmentStatus.EXHAUSTED.value]),
            )
            .order_by(enrollments.c.enrolled_at)
        )
        for r in conn.execute(query):
            running[r.customer_id] = r  # the latest enrollment wins
    if not running:
        return []
    by_customer: dict[int, list[OrderRecord]] = defaultdict(list)
    for rec, cid in changed:
        if cid in running:
            by_customer[cid].append(rec)
    returned: list[ReturnedCustomer] = []
    for cid, recs in by_customer.items():
        enr = running[cid]
        snapshot = EnrollmentSnapshot(
            status=EnrollmentStatus(enr.status),
            enrolled_at=enr.enrolled_at,
            dormant_since=enr.dormant_since,
            ended_at=enr.ended_at,
        )
        for rec in sorted(recs, key=lambda r: r.placed_at):
            effect = order_effect(rec.placed_at, snapshot, attribution)
            if effect is OrderEffect.RETURNED:
                order_id = inserted.get(rec.external_id) or _order_id(conn, rec.external_id)
                step = _credited_step(conn, enr.id, letter_of_order.get(order_id))
                _end_returned(conn, enr, order_id, rec, step, now)
                returned.append(
                    ReturnedCustomer(rec.customer_external_id, rec.external_id, rec.amount_cents, step)
                )
                break
            if effect is OrderEffect.LATE_DATA:
                _end_stale(conn, enr, now)
                break
    return returned


def _order_id(conn: Connection, external_id: str) -> int:
    return int(conn.execute(select(orders.c.id).where(orders.c.external_id == external_id)).scalar_one())


def _credited_step(conn: Connection, enrollment_id: int, coupon_letter: int | None) -> str | None:
    """The letter credited with a return: the one whose coupon was used, else the last one sent."""
    if coupon_letter is not None:
        key = conn.execute(
            select(letters.c.step_key).where(
                letters.c.id == coupon_letter, letters.c.enrollment_id == enrollment_id
            )
        ).scalar()
        if key is not None:
            return str(key)
    last = conn.execute(
        select(letters.c.step_key)
        .where(letters.c.enrollment_id == enrollment_id, letters.c.status == LetterStatus.SENT.value)
        .order_by(letters.c.step_index.desc())
        .limit(1)
    ).scalar()
    return None if last is None else str(last)


def _end_returned(
    conn: Connection, enr: Any, order_id: int, rec: OrderRecord, step: str | None, now: datetime
) -> None:
    conn.execute(
        update(enrollments)
        .where(enrollments.c.id == enr.id)
        .values(
            status=EnrollmentStatus.RETURNED.value,
            ended_at=now,
            end_reason="returned: new purchase",
            return_order_id=order_id,
            return_amount_cents=rec.amount_cents,
            return_coupon=rec.coupon_code,
            return_step=step,
        )
    )
    _cancel_unsent(conn, enr.id, "customer returned")
    conn.execute(
        update(customers)
        .where(customers.c.id == enr.customer_id)
        .values(returned_at=rec.placed_at, updated_at=now)
    )


def _end_stale(conn: Connection, enr: Any, now: datetime) -> None:
    """They had bought before we enrolled them: the enrollment rested on stale data."""
    conn.execute(
        update(enrollments)
        .where(enrollments.c.id == enr.id)
        .values(
            status=EnrollmentStatus.CANCELLED.value,
            ended_at=now,
            end_reason="an earlier purchase arrived late: the customer was not dormant",
        )
    )
    _cancel_unsent(conn, enr.id, "enrolled on stale purchase data")
    restored: dict[str, Any] = (
        {"ladder_state": LadderState.LADDER.value}
        if enr.kind == EnrollmentKind.APOLOGY.value
        else {"ladder_state": None, "ladder_enrolled_at": None}
    )
    conn.execute(
        update(customers).where(customers.c.id == enr.customer_id).values(**restored, updated_at=now)
    )


def _cancel_unsent(conn: Connection, enrollment_id: int, reason: str) -> None:
    conn.execute(
        update(letters)
        .where(letters.c.enrollment_id == enrollment_id, letters.c.status == LetterStatus.QUEUED.value)
        .values(status=LetterStatus.CANCELLED.value, ended_reason=reason)
    )
