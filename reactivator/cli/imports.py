"""`reactivator import`: a shop's customers and orders from a file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from reactivator.cli import views
from reactivator.cli.common import JsonOption, app_from_state, guard

import_cli = typer.Typer(help="Import a shop's customers and orders (CSV with a header row, or JSON lines).")


FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="The file's format (default: recognised from its header row, else reactivator's own).",
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
    tags (';'-separated), unsubscribed optional. Re-importing a file changes nothing."""
    _import("customers", file, as_json, format_name)


@import_cli.command("orders")
def import_orders(
    file: Annotated[Path, typer.Argument(help="orders.csv or orders.jsonl")],
    format_name: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import orders: id, customer_id, placed_at (ISO 8601), amount required;
    currency, coupon_code optional."""
    _import("orders", file, as_json, format_name)
