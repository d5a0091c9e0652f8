"""Single-customer use cases: record a purchase, unsubscribe, erase, look one up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email

from reactivator.core.coupons import normalise_coupon
from reactivator.core.ladder import is_dormant
from reactivator.core.model import Policy, Subscription
from reactivator.core.records import OrderRecord
from reactivator.db import customer_timeline as timelines
from reactivator.db import customers as repo
from reactivator.db.feedback import Reply, recent_replies
from reactivator.db.returns import ReturnedCustomer
from reactivator.errors import InputError, UnknownCustomerError
from reactivator.service.app import App
from reactivator.service.imports import record_purchase


@dataclass(frozen=True)
class PurchaseResult:
    order_id: str
    stored: bool
    returned: ReturnedCustomer | None


def purchase(
    app: App,
    customer_ref: str,
    amount_cents: int,
    placed_at: datetime,
    now: datetime,
    coupon: str | None = None,
    order_id: str | None = None,
    currency: str | None = None,
) -> PurchaseResult:
    """Record one order (the import's code path); a returning customer is marked at once."""
    with app.db.read() as conn:
        customer = repo.find_customer(conn, customer_ref)
    if customer is None:
        raise UnknownCustomerError(customer_ref)
    record = OrderRecord(
        external_id=order_id or f"manual-{uuid.uuid4().hex[:16]}",
        customer_external_id=customer.external_id,
        placed_at=placed_at,
        amount_cents=amount_cents,
        currency=currency or app.settings.shop.currency,
        coupon_code=normalise_coupon(coupon) if coupon else None,
    )
    stored, returned, reason = record_purchase(app, record, now)
    if reason is not None:
        raise InputError(reason)
    return PurchaseResult(record.external_id, stored, returned[0] if returned else None)


def unsubscribe(app: App, ref: str, now: datetime) -> str:
    """Opt a customer out and end every enrollment at once.

    Returns "unsubscribed", "already" (they were out), or "suppressed" (no such
    customer yet: the address is remembered and will be imported unsubscribed).
    """
    with app.db.write() as conn:
        customer = repo.find_customer(conn, ref)
        if customer is None:
            try:
                key = validate_email(ref.strip(), check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                raise UnknownCustomerError(ref) from None
            repo.suppress(conn, [key], Subscription.UNSUBSCRIBED.value, now)
            return "suppressed"
        changed = repo.set_subscription(conn, customer.id, Subscription.UNSUBSCRIBED, now, "unsubscribed")
        return "unsubscribed" if changed else "already"


def erase(app: App, ref: str, now: datetime) -> None:
    """Forget a person's personal data (right to erasure); anonymous orders stay for reports."""
    with app.db.write() as conn:
        customer = repo.find_customer(conn, ref)
        if customer is None:
            raise UnknownCustomerError(ref)
        repo.erase_customer(conn, customer.id, now)


@dataclass(frozen=True)
class CustomerView:
    customer: repo.CustomerSummary
    status: str
    enrollments: list[dict[str, object]]
    replies: list[Reply] = field(default_factory=list)  # what they wrote back, newest first
    letters: list[timelines.LetterLine] = field(default_factory=list)
    survey_answers: list[tuple[datetime, str]] = field(default_factory=list)


def status_label(c: repo.CustomerSummary, running: bool, now: datetime, policy: Policy) -> str:
    """The status a marketer sees; `returned` is shown prominently because it is fragile.

    Dormant means what the engine means by it (core's `is_dormant`: the first
    letter can be due), not the first segment tier, so this page never says
    "active" about someone the ladder is writing to.
    """
    if c.subscription is not Subscription.SUBSCRIBED:
        return c.subscription.value
    if c.last_purchase_at is None:
        return "never bought"
    dormant = is_dormant(c.last_purchase_at, policy, now)
    if c.returned_at is not None and not dormant:
        return "returned"
    if running:
        return "in campaign"
    if c.ladder_state == "apology" and dormant:
        return "lost for good"
    return "dormant" if dormant else "active"


def show(app: App, ref: str, now: datetime) -> CustomerView:
    with app.db.read() as conn:
        customer = repo.find_customer(conn, ref)
        if customer is None:
            raise UnknownCustomerError(ref)
        history = repo.enrollment_history(conn, customer.id)
        replies = recent_replies(conn, customer_id=customer.id, limit=20)
        sent = timelines.customer_letters(conn, customer.id)
        answers = timelines.customer_survey_answers(conn, customer.id)
    running = any(h["status"] == "active" for h in history)
    label = status_label(customer, running, now, app.policy)
    if (
        label in ("dormant", "active", "lost for good")
        and history
        and history[-1]["status"] == "return_cancelled"
    ):
        label = (
            "return cancelled"  # their return's order was cancelled or refunded: not put back on the ladder
        )
    return CustomerView(customer, label, history, replies, sent, answers)


@dataclass(frozen=True)
class CustomerPage:
    """Everything the console's customer page shows."""

    view: CustomerView
    events: list[timelines.Event]
    arm: str | None  # of the latest enrollment
    fragile: bool  # returned and active: handle with care


def page(app: App, ref: str, now: datetime) -> CustomerPage:
    """One customer's status, enrollments and whole timeline."""
    view = show(app, ref, now)
    with app.db.read() as conn:
        events = timelines.timeline(conn, view.customer.id)
    arm = next((str(e["arm"]) for e in reversed(view.enrollments) if e["arm"]), None)
    return CustomerPage(view, events, arm, fragile=view.status == "returned")


def latest_replies(app: App, limit: int = 10) -> list[Reply]:
    """The newest replies from customers, for a person to answer."""
    with app.db.read() as conn:
        return recent_replies(conn, limit=limit)


def search(app: App, text: str) -> list[timelines.Found]:
    """Customers whose id or email starts with `text`."""
    with app.db.read() as conn:
        return timelines.search_customers(conn, text)
