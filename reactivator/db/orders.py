"""Order writes: the single path for imports, `reactivator purchase` and the webhook.

In one transaction per batch: store the orders (idempotent by external id),
refresh each customer's denormalised aggregates (last purchase, counts, value),
attribute coupon codes to the letters that carried them, and end enrollments
of customers who came back: returned means a new purchase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from reactivator.core.coupons import normalise_coupon
from reactivator.core.order_status import OrderStatus, is_purchase
from reactivator.core.records import OrderRecord, Rejection
from reactivator.core.value import annual_value_cents
from reactivator.db import raw
from reactivator.db.customers import UpsertCounts, external_ids_by_email
from reactivator.db.dialect import chunks
from reactivator.db.order_lines import replace_lines, stored_lines
from reactivator.db.returns import ReturnedCustomer, cancel_returns, order_id_of, settle_enrollments
from reactivator.db.tables import customers, letters, orders


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
    in_campaign: bool  # has ever been enrolled, so an order may end an enrollment

    def add(self, placed_at: datetime, amount_cents: int) -> None:
        self.orders_count += 1
        self.revenue_cents += amount_cents
        self.first = placed_at if self.first is None else min(self.first, placed_at)
        self.last = placed_at if self.last is None else max(self.last, placed_at)


def orders_by_customer_id(
    conn: Connection, batch: list[tuple[int, OrderRecord]]
) -> tuple[list[tuple[int, OrderRecord]], list[Rejection]]:
    """Orders that name their customer by email, rewritten to the customer's id; unknown ones rejected."""
    ids = external_ids_by_email(conn, [rec.customer_external_id.lower() for _, rec in batch])
    found: list[tuple[int, OrderRecord]] = []
    unknown: list[Rejection] = []
    for line, rec in batch:
        external_id = ids.get(rec.customer_external_id.lower())
        if external_id is None:
            unknown.append(Rejection(line, f"no customer with email {rec.customer_external_id!r}"))
        else:
            found.append((line, rec._replace(customer_external_id=external_id)))
    return found, unknown


def write_orders(
    conn: Connection,
    batch: list[tuple[int, OrderRecord]],
    now: datetime,
    attribution: timedelta,
    *,
    from_file: bool = False,
) -> OrderCounts:
    """Store a batch of orders and everything that follows from them.

    `from_file`: the batch is part of one import whose rows all carry `now`, so an
    order stored at `now` already was named earlier in the same file.
    """
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

    new_orders, existing = _insert_new(conn, accepted, known, now)
    counts.inserted = len(new_orders)
    changes = _apply_changes(conn, existing, known, counts, now if from_file else None)
    replace_lines(
        conn, [(rec.external_id, rec.lines) for rec in [r for _, r in new_orders] + changes.corrected]
    )

    by_id = {agg.id: agg for agg in known.values()}
    for _, rec in new_orders:
        agg = known[rec.customer_external_id]
        # Only a purchase counts: a cancelled, refunded or unpaid order leaves the aggregates alone.
        if agg.id not in changes.recompute and is_purchase(rec.status):
            agg.add(rec.placed_at, rec.amount_cents)
    _recompute(conn, changes.recompute, by_id)
    touched = {known[rec.customer_external_id].id for _, rec in new_orders} | changes.recompute
    _store_aggregates(conn, [by_id[cid] for cid in touched], now)
    # A return whose order was cancelled or refunded since is no return.
    cancel_returns(conn, changes.no_longer_purchases, now)

    # Coupons and returns concern few orders: only those go the long way.
    purchases = [rec for _, rec in new_orders if is_purchase(rec.status)]
    letter_of_order = _attribute_coupons(conn, [rec for rec in purchases if rec.coupon_code])
    # Only purchases this batch really wrote can mark anyone returned.
    written = purchases + [rec for rec in changes.corrected if is_purchase(rec.status)]
    campaign_orders = [
        (rec, known[rec.customer_external_id].id)
        for rec in written
        if known[rec.customer_external_id].in_campaign
    ]
    counts.returned = settle_enrollments(conn, campaign_orders, letter_of_order, now, attribution)
    return counts


def _insert_new(
    conn: Connection, accepted: list[tuple[int, OrderRecord]], known: dict[str, _Aggregate], now: datetime
) -> tuple[list[tuple[int, OrderRecord]], list[tuple[int, OrderRecord]]]:
    """Insert the orders not stored yet; returns (new, already stored)."""
    put = raw.time_writer(conn)
    ph = raw.placeholder(conn)
    sql = (
        "INSERT INTO orders (external_id, customer_id, placed_at, amount_cents, currency, coupon_code, "
        f"created_at, status, paid_at) VALUES ({', '.join([ph] * 9)})"
    )
    created = put(now)

    def rows(pairs: list[tuple[int, OrderRecord]]) -> list[tuple[object, ...]]:
        return [
            (
                r.external_id,
                known[r.customer_external_id].id,
                put(r.placed_at),
                r.amount_cents,
                r.currency,
                r.coupon_code,
                created,
                r.status,
                put(r.paid_at),
            )
            for _, r in pairs
        ]

    try:
        with conn.begin_nested():  # a first import: none exists yet, one executemany does it all
            raw.execute_many(conn, sql, rows(accepted))
        return accepted, []
    except IntegrityError:
        pass  # some are stored already (a re-import): split them off and insert the rest
    stored: set[str] = set()
    for part in chunks([rec.external_id for _, rec in accepted]):
        query = f"SELECT external_id FROM orders WHERE external_id IN ({', '.join([ph] * len(part))})"
        stored.update(r[0] for r in raw.fetch(conn, query, part))
    new = [p for p in accepted if p[1].external_id not in stored]
    raw.execute_many(conn, sql, rows(new))
    return new, [p for p in accepted if p[1].external_id in stored]


def _normalised(rec: OrderRecord) -> OrderRecord:
    if rec.coupon_code is None or rec.coupon_code == normalise_coupon(rec.coupon_code):
        return rec
    return rec._replace(coupon_code=normalise_coupon(rec.coupon_code) or None)


def _lock_customers(conn: Connection, external_ids: list[str]) -> dict[str, _Aggregate]:
    """Load (and on PostgreSQL lock, in id order) the customers this batch touches."""
    found: dict[str, _Aggregate] = {}
    ph = raw.placeholder(conn)
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    for part in chunks(external_ids):
        wanted = ", ".join([ph] * len(part))
        query = (
            "SELECT id, external_id, orders_count, revenue_cents, first_purchase_at, last_purchase_at, "
            f"ladder_state FROM customers WHERE external_id IN ({wanted}) ORDER BY id{lock}"
        )
        for cid, ext, n, revenue, first, last, state in raw.fetch(conn, query, part):
            found[ext] = _Aggregate(
                cid, n, revenue, raw.read_time(first), raw.read_time(last), state is not None
            )
    return found


@dataclass
class _Changes:
    """What re-sent orders changed: whose aggregates to recompute, which orders were corrected,
    and the ids of orders that were purchases and are not any more (cancelled, refunded)."""

    recompute: set[int] = field(default_factory=set)
    corrected: list[OrderRecord] = field(default_factory=list)
    no_longer_purchases: list[int] = field(default_factory=list)


def _apply_changes(
    conn: Connection,
    candidates: list[tuple[int, OrderRecord]],
    known: dict[str, _Aggregate],
    counts: OrderCounts,
    file_started: datetime | None,
) -> _Changes:
    """Orders already stored: identical ones change nothing; corrected ones are updated."""
    changes = _Changes()
    if not candidates:
        return changes
    stored: dict[str, Any] = {}
    for part in chunks([rec.external_id for _, rec in candidates]):
        for r in conn.execute(select(orders).where(orders.c.external_id.in_(part))):
            stored[r.external_id] = r
    lines = stored_lines(conn, [r.id for r in stored.values()])
    updates: list[dict[str, Any]] = []
    for line, rec in candidates:
        old = stored[rec.external_id]
        customer_id = known[rec.customer_external_id].id
        if file_started is not None and old.created_at == file_started:
            # Stored by this very import: the file names the order twice, batches apart.
            counts.rejected.append(
                Rejection(line, f"duplicate order id {rec.external_id!r} (earlier in this file)")
            )
            continue
        if old.customer_id != customer_id:
            counts.rejected.append(
                Rejection(line, f"order {rec.external_id!r} already belongs to another customer")
            )
            continue
        same = (old.placed_at, old.amount_cents, old.currency, old.coupon_code, old.status, old.paid_at) == (
            rec.placed_at,
            rec.amount_cents,
            rec.currency,
            rec.coupon_code,
            rec.status,
            rec.paid_at,
        )
        # An export without lines says nothing about them: only lines given can differ.
        if same and (not rec.lines or lines.get(old.id, ()) == rec.lines):
            counts.unchanged += 1
            continue
        updates.append(
            {
                "oid": old.id,
                "placed_at": rec.placed_at,
                "amount_cents": rec.amount_cents,
                "currency": rec.currency,
                "coupon_code": rec.coupon_code,
                "status": rec.status,
                "paid_at": rec.paid_at,
            }
        )
        changes.recompute.add(customer_id)
        changes.corrected.append(rec)
        if is_purchase(old.status) and not is_purchase(rec.status):
            changes.no_longer_purchases.append(old.id)
    if updates:
        conn.execute(
            update(orders)
            .where(orders.c.id == bindparam("oid"))
            .values(
                placed_at=bindparam("placed_at", type_=orders.c.placed_at.type),
                amount_cents=bindparam("amount_cents"),
                currency=bindparam("currency"),
                coupon_code=bindparam("coupon_code"),
                status=bindparam("status"),
                paid_at=bindparam("paid_at", type_=orders.c.paid_at.type),
            ),
            updates,
        )
        counts.updated += len(updates)
    return changes


def _recompute(conn: Connection, customer_ids: set[int], by_id: dict[int, _Aggregate]) -> None:
    """Aggregates from scratch, for customers whose stored orders were corrected (purchases only)."""
    for cid in customer_ids:  # a customer with no purchase left has no row below
        agg = by_id[cid]
        agg.orders_count, agg.revenue_cents, agg.first, agg.last = 0, 0, None, None
    for part in chunks(sorted(customer_ids)):
        query = (
            select(
                orders.c.customer_id,
                func.count(),
                func.sum(orders.c.amount_cents),
                func.min(orders.c.placed_at),
                func.max(orders.c.placed_at),
            )
            .where(orders.c.customer_id.in_(part), orders.c.status == OrderStatus.PLACED.value)
            .group_by(orders.c.customer_id)
        )
        for cid, n, total, first, last in conn.execute(query):
            agg = by_id[cid]
            agg.orders_count, agg.revenue_cents = int(n), int(total)
            # min()/max() keep the column type, so these come back as aware datetimes.
            agg.first, agg.last = first, last


def _store_aggregates(conn: Connection, aggregates: list[_Aggregate], now: datetime) -> None:
    put = raw.time_writer(conn)
    ph = raw.placeholder(conn)
    sql = (
        f"UPDATE customers SET orders_count = {ph}, revenue_cents = {ph}, annual_value_cents = {ph}, "
        f"first_purchase_at = {ph}, last_purchase_at = {ph}, updated_at = {ph} WHERE id = {ph}"
    )
    stamp = put(now)
    rows = [
        (
            a.orders_count,
            a.revenue_cents,
            annual_value_cents(a.revenue_cents, a.first, a.last),
            put(a.first),
            put(a.last),
            stamp,
            a.id,
        )
        for a in sorted(aggregates, key=lambda a: a.id)
    ]
    raw.execute_many(conn, sql, rows)


def _attribute_coupons(conn: Connection, coupon_records: list[OrderRecord]) -> dict[int, int]:
    """Link each order that used a letter's coupon to that letter; a code counts once."""
    if not coupon_records:
        return {}
    coupon_orders = [(order_id_of(conn, rec.external_id), rec) for rec in coupon_records]
    codes = list({rec.coupon_code for _, rec in coupon_orders if rec.coupon_code})
    letter_by_code: dict[str, int] = {}
    used: set[int] = set()
    for part in chunks(codes):
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


def refund(
    conn: Connection, external_id: str, refunded_cents: int, now: datetime, attribution: timedelta
) -> str:
    """Take a refund off a stored order; refunded in full, it is no purchase any more.

    Returns the order's status afterwards, or "unknown order".
    """
    row = conn.execute(
        select(orders, customers.c.external_id.label("customer_external_id"))
        .join(customers, customers.c.id == orders.c.customer_id)
        .where(orders.c.external_id == external_id)
    ).first()
    if row is None:
        return "unknown order"
    left = max(int(row.amount_cents) - refunded_cents, 0)
    status = OrderStatus.REFUNDED.value if left == 0 else row.status
    corrected = OrderRecord(
        row.external_id,
        row.customer_external_id,
        row.placed_at,
        left,
        row.currency,
        row.coupon_code,
        status,
        row.paid_at,
    )
    write_orders(conn, [(1, corrected)], now, attribution)
    return status
