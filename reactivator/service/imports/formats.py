"""What an import file looks like: one entry per format, chosen by name or by its header row.

A format says which columns it needs, how a row (or a group of rows) becomes a
record, and how an order finds its customer. A shop's own export is one more
entry in FORMATS, not a branch in the import loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from reactivator.core.records import CustomerRecord, OrderRecord
from reactivator.errors import InputError
from reactivator.service.imports.rows import RowError, parse_customer, parse_order

FUTURE_SLACK = timedelta(days=1)  # clocks and time zones differ a little; more is a data error


class ImportKind(StrEnum):
    """What a file holds, whatever its format: people, or what they bought."""

    CUSTOMERS = "customers"
    ORDERS = "orders"


class CustomerKey(StrEnum):
    """How an order row names its customer."""

    ID = "id"  # the shop's customer id, as imported with the customers
    EMAIL = "email"  # the address only (exports that carry no customer id)


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What a row parser may need beyond the row: the shop's currency and the import's moment."""

    currency: str
    now: datetime


Record = CustomerRecord | OrderRecord
RowParser = Callable[[Mapping[str, object], ParseContext], Record]


@dataclass(frozen=True, slots=True)
class ImportFormat:
    """One kind of file an import reads.

    `signature`: columns whose presence in the header row says "this is that
    format" (empty: only by name). `group_by`: a column whose equal values on
    consecutive rows make one record (an order export with a row per line
    item); the first row of a group gives its values, later rows fill the
    gaps. `customer_key`: for orders, what `customer_external_id` holds.
    """

    name: str
    kind: ImportKind
    required: tuple[str, ...]
    parse: RowParser
    description: str
    signature: frozenset[str] = frozenset()
    group_by: str | None = None
    customer_key: CustomerKey = CustomerKey.ID


def _customer(row: Mapping[str, object], _: ParseContext) -> CustomerRecord:
    return parse_customer(row)


def _order(row: Mapping[str, object], context: ParseContext) -> OrderRecord:
    record = parse_order(row, context.currency)
    if record.placed_at > context.now + FUTURE_SLACK:
        raise RowError(f"placed_at {record.placed_at.isoformat()} is in the future")
    return record


NATIVE = "reactivator"

FORMATS: list[ImportFormat] = [
    ImportFormat(
        NATIVE,
        ImportKind.CUSTOMERS,
        ("id", "email"),
        _customer,
        "id, email; first_name, last_name, locale, timezone, account_manager, tags, unsubscribed",
    ),
    ImportFormat(
        NATIVE,
        ImportKind.ORDERS,
        ("id", "customer_id", "placed_at", "amount"),
        _order,
        "id, customer_id, placed_at, amount; currency, coupon_code",
    ),
]


def formats_for(kind: ImportKind) -> list[ImportFormat]:
    return [f for f in FORMATS if f.kind is kind]


def format_named(kind: ImportKind, name: str) -> ImportFormat:
    """The format called `name` for `kind`; InputError naming those there are."""
    for fmt in formats_for(kind):
        if fmt.name == name.strip().lower():
            return fmt
    known = ", ".join(f.name for f in formats_for(kind))
    raise InputError(f"no {kind.value} format {name!r}; the formats are: {known}")


def recognise(kind: ImportKind, header: list[str] | None) -> ImportFormat:
    """The format whose signature the header row carries (the most specific), else the native one."""
    columns = set(header or ())
    matches = [f for f in formats_for(kind) if f.signature and f.signature <= columns]
    if matches:
        return max(matches, key=lambda f: len(f.signature))
    return format_named(kind, NATIVE)
