"""What an import file looks like: one entry per format, chosen by name or by its header row.

A format says which columns it needs, how a row (or a group of rows) becomes a
record, and how an order finds its customer. A shop's own export is one more
entry in FORMATS, not a branch in the import loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from reactivator.core.records import CustomerRecord, OrderLinesRecord, OrderRecord, ProductRecord
from reactivator.errors import InputError
from reactivator.service.imports import catalog_rows, shopify, woocommerce
from reactivator.service.imports.rows import RowError, parse_customer, parse_order
from reactivator.service.imports.shop_fields import check_consent_columns

FUTURE_SLACK = timedelta(days=1)  # clocks and time zones differ a little; more is a data error


class ImportKind(StrEnum):
    """What a file holds, whatever its format: people, or what they bought."""

    CUSTOMERS = "customers"
    ORDERS = "orders"
    PRODUCTS = "products"
    ORDER_LINES = "order-lines"


class CustomerKey(StrEnum):
    """How an order row names its customer."""

    ID = "id"  # the shop's customer id, as imported with the customers
    EMAIL = "email"  # the address only (exports that carry no customer id)


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What a row parser may need beyond the row: the shop's currency, the import's moment, the
    languages of countries (for exports without one), and the shop's address (product links)."""

    currency: str
    now: datetime
    country_locales: Mapping[str, str] = field(default_factory=dict)
    shop_url: str = ""


Record = CustomerRecord | OrderRecord | ProductRecord | OrderLinesRecord
RowParser = Callable[[Mapping[str, Any], ParseContext], Record]


@dataclass(frozen=True, slots=True)
class ImportFormat:
    """One kind of file an import reads.

    `signatures`: sets of columns whose presence in the header row says "this is
    that format" (none: only by name). `group_by`: a column whose equal values
    on consecutive rows make one record (an order export with a row per line
    item); the first row of a group gives its values, later rows fill the gaps,
    and every row stays under grouping.LINES. `customer_key`: for orders, what
    `customer_external_id` holds. `consent`: the columns it reads as marketing
    consent; any other column that looks like consent stops the import.
    """

    name: str
    kind: ImportKind
    required: tuple[str, ...]
    parse: RowParser
    description: str
    signatures: tuple[frozenset[str], ...] = ()
    group_by: str | None = None
    customer_key: CustomerKey = CustomerKey.ID
    consent: tuple[str, ...] = ()

    def check_header(self, header: Iterable[str]) -> None:
        """InputError when the header has a consent-like column this format does not read."""
        if self.kind is ImportKind.CUSTOMERS:
            check_consent_columns(header, self.consent)


def _customer(row: Mapping[str, object], _: ParseContext) -> CustomerRecord:
    return parse_customer(row)


def _order(row: Mapping[str, object], context: ParseContext) -> OrderRecord:
    return _not_future(parse_order(row, context.currency), context)


def _not_future(record: OrderRecord, context: ParseContext) -> OrderRecord:
    if record.placed_at > context.now + FUTURE_SLACK:
        raise RowError(f"placed_at {record.placed_at.isoformat()} is in the future")
    return record


NATIVE = "reactivator"
SHOPIFY = "shopify"
WOOCOMMERCE = "woocommerce"

FORMATS: list[ImportFormat] = [
    ImportFormat(
        NATIVE,
        ImportKind.CUSTOMERS,
        ("id", "email"),
        _customer,
        "id, email; first_name, last_name, locale, timezone, account_manager, tags, unsubscribed",
        consent=("unsubscribed",),
    ),
    ImportFormat(
        NATIVE,
        ImportKind.ORDERS,
        ("id", "customer_id", "placed_at", "amount"),
        _order,
        "id, customer_id, placed_at, amount; currency, coupon_code, status, paid_at",
    ),
    ImportFormat(
        SHOPIFY,
        ImportKind.CUSTOMERS,
        ("email",),
        lambda row, c: shopify.customer(row, c.country_locales),
        "Shopify's customers export (Customer ID, Email, Accepts Email Marketing, Tags...)",
        signatures=(
            frozenset({"email", "accepts email marketing"}),
            frozenset({"email", "accepts marketing", "total spent"}),
        ),
        consent=shopify.CONSENT_COLUMNS,
    ),
    ImportFormat(
        SHOPIFY,
        ImportKind.ORDERS,
        ("name", "email", "financial status", "created at", "total"),
        lambda row, c: _not_future(shopify.order(row, c.currency), c),
        "Shopify's orders export (a row per line item, grouped by Name)",
        signatures=(frozenset({"name", "financial status", "lineitem name"}),),
        group_by="name",
        customer_key=CustomerKey.EMAIL,
    ),
    ImportFormat(
        SHOPIFY,
        ImportKind.PRODUCTS,
        ("handle", "title"),
        lambda row, c: shopify.product(row, c.shop_url),
        "Shopify's products export (a row per variant, grouped by Handle)",
        signatures=(frozenset({"handle", "title", "variant sku"}),),
        group_by="handle",
    ),
    ImportFormat(
        WOOCOMMERCE,
        ImportKind.CUSTOMERS,
        ("id", "email"),
        lambda row, c: woocommerce.customer(row, c.country_locales),
        "WooCommerce REST API customer objects, one a line (JSON lines)",
        signatures=(frozenset({"email", "billing", "is_paying_customer"}),),
    ),
    ImportFormat(
        WOOCOMMERCE,
        ImportKind.ORDERS,
        ("id", "status", "total", "billing"),
        lambda row, c: _not_future(woocommerce.order(row, c.currency), c),
        "WooCommerce REST API order objects, one a line (JSON lines)",
        signatures=(frozenset({"billing", "line_items", "date_created_gmt"}),),
        customer_key=CustomerKey.EMAIL,
    ),
    ImportFormat(
        WOOCOMMERCE,
        ImportKind.PRODUCTS,
        ("id", "type", "name"),
        lambda row, c: woocommerce.product(row, c.shop_url),
        "WooCommerce's products CSV export (Products > Export)",
        signatures=(frozenset({"id", "type", "sku", "name", "regular price"}),),
    ),
    ImportFormat(
        NATIVE,
        ImportKind.PRODUCTS,
        ("name", "url", "price"),
        lambda row, _c: catalog_rows.product(row),
        "id (or sku), name, url, price; sku, image_url, category, in_stock, name_<language>",
    ),
    ImportFormat(
        NATIVE,
        ImportKind.ORDER_LINES,
        ("order_id", "name", "quantity", "price"),
        lambda row, _c: catalog_rows.order_lines(row),
        "order_id, name, quantity, price; sku, product_id (a row per line)",
        group_by="order_id",
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
    matches = [(len(sig), f) for f in formats_for(kind) for sig in f.signatures if sig <= columns]
    if matches:
        return max(matches, key=lambda m: m[0])[1]
    return format_named(kind, NATIVE)
