"""Validated input records: what an import row, a CLI purchase or a webhook becomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from reactivator.core.model import (
    Arm,
    EnrollmentKind,
    EnrollmentStatus,
    LetterStatus,
    Subscription,
    ValueClass,
    Verdict,
)
from reactivator.core.recommend import Pick


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    external_id: str
    email: str  # normalised by email-validator
    email_key: str  # lower-cased, the uniqueness key
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    timezone: str | None = None
    account_manager: str | None = None
    tags: frozenset[str] = frozenset()
    unsubscribed: bool = False


class OrderLine(NamedTuple):
    """One line of an order: what was bought, how many, at what unit price."""

    name: str
    quantity: int
    price_cents: int
    sku: str | None = None
    product_ref: str | None = None  # the shop's product id


class OrderRecord(NamedTuple):
    """One order; a tuple because imports build millions of them.

    `amount_cents` is what the customer paid, less any partial refund; `status` is a
    core.order_status.OrderStatus value (only "placed" is a purchase).
    """

    external_id: str
    customer_external_id: str
    placed_at: datetime
    amount_cents: int
    currency: str
    coupon_code: str | None = None
    status: str = "placed"
    paid_at: datetime | None = None
    lines: tuple[OrderLine, ...] = ()


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """A product of the shop's catalog, as an import gives it."""

    external_id: str  # the shop's product id (or its SKU when it has no other id)
    name: str
    url: str
    price_cents: int
    image_url: str | None = None
    category: str = ""
    in_stock: bool = True
    names: tuple[tuple[str, str], ...] = ()  # (locale, name) where the shop translates it
    skus: tuple[str, ...] = ()  # every SKU of the product (its variants)
    variant: bool = False  # a variant of `external_id`: only its SKUs are news


@dataclass(frozen=True, slots=True)
class OrderLinesRecord:
    """The lines of one order already imported (an order_lines file)."""

    order_external_id: str
    lines: tuple[OrderLine, ...]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that was not stored, with where it was and why."""

    line: int
    reason: str


def encode_tags(tags: frozenset[str]) -> str:
    """Tags as stored: ';a;b;' so one tag matches LIKE '%;a;%'."""
    return ";" + ";".join(sorted(tags)) + ";" if tags else ""


def decode_tags(stored: str) -> frozenset[str]:
    return frozenset(t for t in stored.split(";") if t)


@dataclass(frozen=True, slots=True)
class Letter:
    """Everything needed to build and send one letter: plain data, never rows."""

    letter_id: int
    message_id: str
    step_key: str
    step_index: int
    kind: str
    discount_percent: int
    coupon_code: str | None
    coupon_expires_at: datetime | None
    customer_id: int
    customer_external_id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    locale: str | None
    timezone: str | None
    account_manager: str | None
    tags: frozenset[str]
    last_purchase_at: datetime | None
    orders_count: int
    subscription: Subscription
    enrollment_status: EnrollmentStatus
    letter_status: LetterStatus
    queued_at: datetime | None = None
    attempts: int = 0
    products: tuple[Pick, ...] = ()  # chosen by the pass from the customer's history (empty: none)


@dataclass(frozen=True, slots=True)
class PlannedCustomer:
    """One line of the decision trace."""

    customer_id: int
    external_id: str
    last_purchase_at: datetime
    value_class: ValueClass | None  # None when the pass did not need the classes
    annual_value_cents: int
    verdict: Verdict
    kind: EnrollmentKind | None
    step_index: int | None
    enters: bool
    arm: Arm | None = None
