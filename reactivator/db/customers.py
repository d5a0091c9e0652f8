"""Customer writes and look-ups: batched upserts by external id, unsubscribe, erase."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from reactivator.core.model import EnrollmentStatus, Subscription
from reactivator.core.records import CustomerRecord, Rejection, decode_tags, encode_tags
from reactivator.db.dialect import chunks, insert_for
from reactivator.db.feedback import forget_replies
from reactivator.db.letters import cancel_queued
from reactivator.db.tables import customers, enrollments, letters, suppressions

_FIELDS = ("email", "email_key", "first_name", "last_name", "locale", "timezone", "account_manager")


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)


def upsert_customers(
    conn: Connection, batch: list[tuple[int, CustomerRecord]], now: datetime, *, from_file: bool = False
) -> UpsertCounts:
    """Insert new customers and update changed ones; unchanged rows are left alone."""
    counts = UpsertCounts()
    ids = list({rec.external_id for _, rec in batch})
    keys = list({rec.email_key for _, rec in batch})
    existing: dict[str, Any] = {}
    for part in chunks(ids):
        for row in conn.execute(select(customers).where(customers.c.external_id.in_(part))):
            existing[row.external_id] = row
    suppressed = suppressed_keys(conn, keys)
    owners: dict[str, str] = {}
    for part in chunks(keys):
        query = select(customers.c.email_key, customers.c.external_id).where(customers.c.email_key.in_(part))
        owners.update({r.email_key: r.external_id for r in conn.execute(query)})

    seen_ids: dict[str, int] = {}
    seen_keys: dict[str, int] = {}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    newly_unsubscribed: list[int] = []
    for line, rec in batch:
        if rec.external_id in seen_ids:
            counts.rejected.append(
                Rejection(
                    line,
                    f"duplicate customer id {rec.external_id!r} (first on line {seen_ids[rec.external_id]})",
                )
            )
            continue
        if rec.email_key in seen_keys:
            counts.rejected.append(
                Rejection(line, f"duplicate email {rec.email!r} (first on line {seen_keys[rec.email_key]})")
            )
            continue
        owner = owners.get(rec.email_key)
        if owner is not None and owner != rec.external_id:
            counts.rejected.append(
                Rejection(line, f"duplicate email {rec.email!r}: already used by customer {owner!r}")
            )
            continue
        old = existing.get(rec.external_id)
        if from_file and old is not None and now in (old.created_at, old.updated_at):
            counts.rejected.append(
                Rejection(line, f"duplicate customer id {rec.external_id!r} (earlier in this file)")
            )
            continue
        if old is not None and old.subscription == Subscription.ERASED.value:
            counts.rejected.append(
                Rejection(line, f"customer {rec.external_id!r} was erased on request; not re-imported")
            )
            continue
        seen_ids[rec.external_id] = line
        seen_keys[rec.email_key] = line
        values = {name: getattr(rec, name) for name in _FIELDS}
        values["tags"] = encode_tags(rec.tags)
        opted_out = rec.unsubscribed or rec.email_key in suppressed
        if old is None:
            subscription = Subscription.UNSUBSCRIBED if opted_out else Subscription.SUBSCRIBED
            inserts.append(
                values
                | {
                    "external_id": rec.external_id,
                    "subscription": subscription.value,
                    "unsubscribed_at": now if opted_out else None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        # Unsubscribing is sticky: an import can opt someone out, never back in.
        unsubscribe = opted_out and old.subscription == Subscription.SUBSCRIBED.value
        changed = any(getattr(old, name) != values[name] for name in values) or unsubscribe
        if not changed:
            counts.unchanged += 1
            continue
        change = values | {"cid": old.id, "updated_at": now}
        change["subscription"] = Subscription.UNSUBSCRIBED.value if unsubscribe else old.subscription
        change["unsubscribed_at"] = now if unsubscribe else old.unsubscribed_at
        if unsubscribe:
            newly_unsubscribed.append(old.id)
        updates.append(change)

    if inserts:
        conn.execute(insert(customers), inserts)
    if updates:
        stmt = (
            update(customers)
            .where(customers.c.id == bindparam("cid"))
            .values({name: bindparam(name) for name in (*_FIELDS, "tags", "subscription", "updated_at")})
            .values(unsubscribed_at=bindparam("unsubscribed_at", type_=customers.c.unsubscribed_at.type))
        )
        conn.execute(stmt, updates)
    suppress(conn, [r["email_key"] for r in inserts if r["unsubscribed_at"] is not None], "unsubscribed", now)
    suppress(conn, [r["email_key"] for r in updates if r["cid"] in newly_unsubscribed], "unsubscribed", now)
    for cid in newly_unsubscribed:
        end_enrollments(conn, cid, now, EnrollmentStatus.UNSUBSCRIBED, "unsubscribed")
    counts.inserted += len(inserts)
    counts.updated += len(updates)
    return counts


def end_enrollments(
    conn: Connection, customer_id: int, now: datetime, status: EnrollmentStatus, reason: str
) -> int:
    """End every running enrollment of a customer and cancel the letters not yet sent."""
    ended = conn.execute(
        update(enrollments)
        .where(
            enrollments.c.customer_id == customer_id, enrollments.c.status == EnrollmentStatus.ACTIVE.value
        )
        .values(status=status.value, ended_at=now, end_reason=reason)
    ).rowcount
    cancel_queued(conn, letters.c.customer_id == customer_id, reason)
    return int(ended)


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    id: int
    external_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    locale: str | None
    timezone: str | None
    account_manager: str | None
    tags: frozenset[str]
    subscription: Subscription
    orders_count: int
    revenue_cents: int
    annual_value_cents: int
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    ladder_state: str | None
    returned_at: datetime | None
    last_letter_at: datetime | None
    paused_until: datetime | None = None


def find_customer(conn: Connection, ref: str) -> CustomerSummary | None:
    """A customer by external id, else by email (case-insensitive)."""
    row = conn.execute(select(customers).where(customers.c.external_id == ref)).first()
    if row is None:
        row = conn.execute(select(customers).where(customers.c.email_key == ref.strip().lower())).first()
    if row is None:
        return None
    return CustomerSummary(
        id=row.id,
        external_id=row.external_id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        locale=row.locale,
        timezone=row.timezone,
        account_manager=row.account_manager,
        tags=decode_tags(row.tags),
        subscription=Subscription(row.subscription),
        orders_count=row.orders_count,
        revenue_cents=row.revenue_cents,
        annual_value_cents=row.annual_value_cents,
        first_purchase_at=row.first_purchase_at,
        last_purchase_at=row.last_purchase_at,
        ladder_state=row.ladder_state,
        returned_at=row.returned_at,
        last_letter_at=row.last_letter_at,
        paused_until=row.paused_until,
    )


def external_ids_by_email(conn: Connection, email_keys: list[str]) -> dict[str, str]:
    """The external id of each known customer among `email_keys` (lower-cased addresses)."""
    found: dict[str, str] = {}
    for part in chunks(sorted(set(email_keys))):
        query = select(customers.c.email_key, customers.c.external_id).where(customers.c.email_key.in_(part))
        found.update((row.email_key, row.external_id) for row in conn.execute(query))
    return found


def set_subscription(
    conn: Connection, customer_id: int, state: Subscription, now: datetime, reason: str
) -> bool:
    """Opt a customer out (unsubscribe, bounce); returns False if they already were."""
    changed = conn.execute(
        update(customers)
        .where(customers.c.id == customer_id, customers.c.subscription == Subscription.SUBSCRIBED.value)
        .values(subscription=state.value, unsubscribed_at=now, updated_at=now)
    ).rowcount
    key = conn.execute(select(customers.c.email_key).where(customers.c.id == customer_id)).scalar()
    if key:
        suppress(conn, [key], state.value, now)
    status = (
        EnrollmentStatus.UNSUBSCRIBED if state is Subscription.UNSUBSCRIBED else EnrollmentStatus.CANCELLED
    )
    end_enrollments(conn, customer_id, now, status, reason)
    return bool(changed)


def pause_customer(conn: Connection, customer_id: int, until: datetime, now: datetime) -> None:
    """No letters until `until`; the letters queued now are cancelled (a pass queues the next one
    after the pause, on its day)."""
    conn.execute(
        update(customers).where(customers.c.id == customer_id).values(paused_until=until, updated_at=now)
    )
    cancel_queued(conn, letters.c.customer_id == customer_id, "paused by the customer")


def erase_customer(conn: Connection, customer_id: int, now: datetime) -> None:
    """Forget a person's personal data but keep the anonymous order history for reports."""
    row = conn.execute(select(customers.c.email_key).where(customers.c.id == customer_id)).one()
    if row.email_key and not row.email_key.startswith("erased:"):
        suppress(conn, [row.email_key], Subscription.ERASED.value, now)
    tombstone = "erased:" + hashlib.sha256((row.email_key or str(customer_id)).encode()).hexdigest()[:32]
    conn.execute(
        update(customers)
        .where(customers.c.id == customer_id)
        .values(
            email=None,
            email_key=tombstone,
            first_name=None,
            last_name=None,
            account_manager=None,
            tags="",
            subscription=Subscription.ERASED.value,
            unsubscribed_at=now,
            updated_at=now,
        )
    )
    end_enrollments(conn, customer_id, now, EnrollmentStatus.CANCELLED, "personal data erased")
    forget_replies(conn, customer_id)


def enrollment_history(conn: Connection, customer_id: int) -> list[dict[str, object]]:
    """A customer's enrollments, oldest first, as plain data."""
    rows = conn.execute(
        select(enrollments)
        .where(enrollments.c.customer_id == customer_id)
        .order_by(enrollments.c.enrolled_at)
    )
    return [
        {
            "kind": r.kind,
            "status": r.status,
            "arm": r.arm,
            "enrolled_at": r.enrolled_at.isoformat(),
            "next_step": r.next_step,
            "ended_at": r.ended_at.isoformat() if r.ended_at else None,
            "end_reason": r.end_reason,
            "return_step": r.return_step,
            "return_amount_cents": r.return_amount_cents,
        }
        for r in rows
    ]


def all_customer_ids(conn: Connection) -> list[int]:
    """Every customer's id (a shop's erasure of everything goes through them one by one)."""
    return [int(i) for i in conn.execute(select(customers.c.id).order_by(customers.c.id)).scalars()]


def email_hash(email_key: str) -> str:
    return hashlib.sha256(email_key.encode()).hexdigest()


def suppress(conn: Connection, email_keys: list[str], reason: str, now: datetime) -> None:
    """Never mail these addresses again, whoever they come back as."""
    rows = [{"email_hash": email_hash(k), "reason": reason, "created_at": now} for k in set(email_keys)]
    if rows:
        conn.execute(insert_for(conn)(suppressions).on_conflict_do_nothing(), rows)


def suppressed_keys(conn: Connection, email_keys: list[str]) -> set[str]:
    """The subset of `email_keys` that is on the suppression list."""
    by_hash = {email_hash(k): k for k in email_keys}
    found: set[str] = set()
    for part in chunks(list(by_hash)):
        query = select(suppressions.c.email_hash).where(suppressions.c.email_hash.in_(part))
        found.update(by_hash[h] for h in conn.execute(query).scalars())
    return found
