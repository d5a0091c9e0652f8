"""`reactivator import`: a shop's customers, orders, products, order lines and coupon codes from a file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from reactivator.cli import views
from reactivator.cli.common import JsonOption, app_from_state, guard

import_cli = typer.Typer(
    help="Import a shop's data: reactivator's own files, or Shopify's and WooCommerce's exports "
    "(CSV with a header row, or JSON lines), recognised from their columns.",
    no_args_is_help=True,
)


FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="reactivator, shopify or woocommerce (default: recognised from the header row, else "
        "reactivator's own).",
    ),
]


def _import(kind: str, path: Path, as_json: bool, format_name: str | None) -> None:
    def body() -> None:
        from reactivator.service.imports import ImportKind, import_file

        app = app_from_state()
        now = datetime.now(UTC)  # each import is its own moment: re-imports are told apart by it
        size = path.stat().st_size if path.is_file() else 0
        show_bar = not as_json and size > 5_000_000 and views.err.is_terminal
        if show_bar:
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

            columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
            with Progress(*columns, console=views.err, transient=True) as bar:
                task = bar.add_task(f"importing {path.name}", total=size)
                summary = import_file(
                    app,
                    ImportKind(kind),
                    path,
                    now,
                    lambda done: bar.update(task, completed=done),
                    format_name=format_name,
                )
        else:
            summary = import_file(app, ImportKind(kind), path, now, format_name=format_name)
        if as_json:
            views.print_json(summary.as_dict())
        else:
            views.import_summary(summary)

    guard(body)


@import_cli.command("customers")
def import_customers(
    file: Annotated[Path, typer.Argument(help="customers.csv or customers.jsonl")],
    format_name: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import customers: id, email required; first_name, last_name, locale, timezone, account_manager,
    tags (';'-separated), unsubscribed optional; or Shopify's customers export, or WooCommerce's
    customer objects. Re-importing a file changes nothing; an opt-out stays."""
    _import("customers", file, as_json, format_name)


@import_cli.command("orders")
def import_orders(
    file: Annotated[Path, typer.Argument(help="orders.csv or orders.jsonl")],
    format_name: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import orders: id, customer_id, placed_at (ISO 8601), amount required; currency, coupon_code,
    status (placed, pending, cancelled, refunded), paid_at optional; or Shopify's orders export
    (with its line items), or WooCommerce's order objects."""
    _import("orders", file, as_json, format_name)


@import_cli.command("products")
def import_products(
    file: Annotated[Path, typer.Argument(help="products.csv or products.jsonl")],
    format_name: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import the catalog: id (or sku), name, url, price required; sku (';' between variants),
    image_url, category, in_stock, name_ru (a name per language) optional; or Shopify's or
    WooCommerce's products export. The letters' product cards come from it."""
    _import("products", file, as_json, format_name)


@import_cli.command("order-lines")
def import_order_lines(
    file: Annotated[Path, typer.Argument(help="order_lines.csv or order_lines.jsonl")],
    format_name: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import what orders held, for orders already imported: order_id, name, quantity, price
    required; sku, product_id optional (a row per line)."""
    _import("order-lines", file, as_json, format_name)


@import_cli.command("coupons")
def import_coupons(
    file: Annotated[Path, typer.Argument(help="A CSV with a 'code' column, or a file of one code a line.")],
    step: Annotated[str, typer.Option("--step", help="The ladder step whose letters carry these codes.")],
    as_json: JsonOption = False,
) -> None:
    """Load coupon codes the shop generated (so its checkout accepts them) into the step's pool;
    the step's letters then carry those codes, each one once."""

    def body() -> None:
        from reactivator.service.coupons import import_pool

        summary = import_pool(app_from_state(), step, file, datetime.now(UTC))
        if as_json:
            views.print_json(summary)
        else:
            views.out.print(
                f"Coupon pool of {summary.step}: {summary.added:,} codes added, {summary.already:,} "
                f"already there, {summary.rejected:,} rejected; {summary.unused:,} unused now."
            )
            for line, reason in summary.first_rejects:
                views.out.print(f"  line {line}: {reason}", markup=False)

    guard(body)
