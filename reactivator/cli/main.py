"""Thin commands: parse, load settings, call one service function, print."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from reactivator.cli import views
from reactivator.cli.common import JsonOption, NowOption, app_from_state, guard, parse_now, program, state
from reactivator.cli.daemon import daemon, status
from reactivator.cli.letters import preview, templates_cli
from reactivator.cli.serve import serve
from reactivator.errors import InputError
from reactivator.render.composer import Composer
from reactivator.service import customers as customer_ops
from reactivator.service import passes, reporting
from reactivator.service.app import App
from reactivator.service.bounces import process_bounces
from reactivator.service.delivery import SendReport, send_with_configured_mailer
from reactivator.service.imports import ImportKind, import_file
from reactivator.service.imports.rows import RowError, parse_amount_cents
from reactivator.service.letters import checked_composer

cli = typer.Typer(
    name="reactivator",
    help="Win back dormant customers by email.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)
import_cli = typer.Typer(help="Import a shop's customers and orders (CSV with a header row, or JSON lines).")
cli.add_typer(db_cli, name="db")
cli.add_typer(import_cli, name="import")
cli.add_typer(templates_cli, name="templates")
cli.command()(preview)
cli.command()(serve)
cli.command()(daemon)
cli.command()(status)


@cli.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", help="Settings file (default: $REACTIVATOR_CONFIG or config/reactivator.toml)."
        ),
    ] = None,
) -> None:
    state["config"] = config


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema (safe to run again)."""

    def body() -> None:
        app = app_from_state(require_schema=False)
        before, after = app.db.upgrade()
        state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
        views.out.print(f"Database {app.db.safe_url}: {state} schema {after}.")

    guard(body)


@db_cli.command("status")
def db_status() -> None:
    """Show the schema revision of the configured database."""

    def body() -> None:
        app = app_from_state(require_schema=False)
        found = app.db.current_revision()
        views.out.print(f"Database {app.db.safe_url}: schema {found or 'missing'}.")
        app.db.require_schema()

    guard(body)


FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="The file's format (default: recognised from its header row, else reactivator's own).",
    ),
]


def _import(kind: ImportKind, path: Path, as_json: bool, format_name: str | None) -> None:
    def body() -> None:
        app = app_from_state()
        now = datetime.now(UTC)  # each import is its own moment: re-imports are told apart by it
        size = path.stat().st_size if path.is_file() else 0
        show_bar = not as_json and size > 5_000_000 and views.err.is_terminal
        if show_bar:
            columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
            with Progress(*columns, console=views.err, transient=True) as bar:
                task = bar.add_task(f"importing {path.name}", total=size)
                summary = import_file(
                    app,
                    kind,
                    path,
                    now,
                    lambda done: bar.update(task, completed=done),
                    format_name=format_name,
                )
        else:
            summary = import_file(app, kind, path, now, format_name=format_name)
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
    _import(ImportKind.CUSTOMERS, file, as_json, format_name)


@import_cli.command("orders")
def import_orders(
    file: Annotated[Path, typer.Argument(help="orders.csv or orders.jsonl")],
    format_name: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import orders: id, customer_id, placed_at (ISO 8601), amount required;
    currency, coupon_code optional."""
    _import(ImportKind.ORDERS, file, as_json, format_name)


@cli.command()
def purchase(
    customer_id: Annotated[str, typer.Argument(help="The customer's id (or email).")],
    amount: Annotated[str, typer.Option("--amount", help="What the customer paid, e.g. 49.90.")],
    at: Annotated[str | None, typer.Option("--at", help="When (ISO 8601); default now.")] = None,
    coupon: Annotated[str | None, typer.Option("--coupon", help="Coupon code used, if any.")] = None,
    order_id: Annotated[
        str | None, typer.Option("--order-id", help="The shop's order id; repeating it changes nothing.")
    ] = None,
    now: NowOption = None,
) -> None:
    """Record one purchase. A purchase after enrollment marks the customer returned at once."""

    def body() -> None:
        app = app_from_state()
        current = parse_now(now)
        placed = parse_now(at) if at else current
        try:
            cents = parse_amount_cents(amount)
        except RowError as exc:
            raise InputError(str(exc)) from None
        result = customer_ops.purchase(app, customer_id, cents, placed, current, coupon, order_id)
        verb = "Recorded" if result.stored else "Already had"
        views.out.print(f"{verb} order {escape(result.order_id)} for customer {escape(customer_id)}.")
        if result.returned is not None:
            step = result.returned.step_key or "before any letter"
            views.out.print(
                f"[bold green]Customer {escape(customer_id)} has returned[/] (credited to: {step})."
            )

    guard(body)


@cli.command()
def unsubscribe(email: Annotated[str, typer.Argument(help="Email address (or customer id).")]) -> None:
    """Unsubscribe a customer: every enrollment ends and no further letter goes out."""

    def body() -> None:
        outcome = customer_ops.unsubscribe(app_from_state(), email, datetime.now(UTC))
        messages = {
            "unsubscribed": "is unsubscribed; every enrollment ended.",
            "already": "was already not mailed.",
            "suppressed": "is not a customer yet; the address is suppressed and will come in unsubscribed.",
        }
        views.out.print(f"{escape(email)} {messages[outcome]}")

    guard(body)


@cli.command()
def erase(
    customer_id: Annotated[str, typer.Argument(help="Customer id (or email).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a customer's personal data on request; anonymous order totals stay for reports."""
    if not yes and not typer.confirm(f"Erase the personal data of {customer_id}? This cannot be undone"):
        raise typer.Exit(1)
    guard(lambda: customer_ops.erase(app_from_state(), customer_id, datetime.now(UTC)))
    views.out.print(f"Erased {escape(customer_id)}.")


@cli.command()
def customer(
    customer_id: Annotated[str, typer.Argument(help="Customer id (or email).")],
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one customer: status (returned, in campaign, dormant...), value and enrollment history."""

    def body() -> None:
        view = customer_ops.show(app_from_state(), customer_id, parse_now(now))
        if as_json:
            views.print_json(
                {"status": view.status, "customer": view.customer, "enrollments": view.enrollments}
            )
            return
        c = view.customer
        style = "bold green" if view.status == "returned" else "bold"
        views.out.print(
            f"[bold]{escape(c.external_id)}[/] {escape(c.email or '(erased)')}: [{style}]{view.status}[/]"
        )
        views.out.print(
            f"orders {c.orders_count}, revenue {c.revenue_cents / 100:,.2f}, last purchase "
            f"{c.last_purchase_at:%Y-%m-%d}"
            if c.last_purchase_at
            else "no purchases"
        )
        for e in view.enrollments:
            views.out.print(
                f"  {e['kind']} {e['status']} from {e['enrolled_at']}: {e['end_reason'] or ''}", markup=False
            )

    guard(body)


@cli.command()
def segments(
    now: NowOption = None,
    as_json: JsonOption = False,
    detail: Annotated[
        bool, typer.Option("--detail", help="Also how many can be mailed and the A/B/C value classes.")
    ] = False,
) -> None:
    """Dormant customers per tier and the money at stake (their lifetime value)."""

    def body() -> None:
        report = reporting.segments(app_from_state(), parse_now(now), detail=detail)
        if as_json:
            views.print_json(report)
        else:
            views.segments(report)

    guard(body)


@cli.command()
def run(
    now: NowOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and explain, change nothing.")] = False,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option("--limit", help="Trace lines to show in the table (0: none).")] = 30,
) -> None:
    """One pass: enroll who is due, queue their letters, send them. --dry-run explains instead."""

    def body() -> None:
        app = app_from_state()
        at = parse_now(now)
        if dry_run:
            _dry_run(app, at, as_json, limit)
            return
        composer = checked_composer(app, at)  # a broken template stops the run before the pass
        report = passes.enroll_and_queue(app, at)
        sent = asyncio.run(_send_until_stopped(app, at, composer))
        if as_json:
            views.print_json({"pass": report, "sent": sent})
        else:
            views.pass_report(report, sent)

    guard(body)


async def _send_until_stopped(app: App, at: datetime, composer: Composer) -> SendReport:
    """Send over SMTP; SIGTERM or Ctrl+C stops claiming, lets letters in flight finish, exits cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await send_with_configured_mailer(app, at, composer, stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _dry_run(app: App, at: datetime, as_json: bool, limit: int) -> None:
    if as_json:
        # One JSON object a line: the whole trace streams, however many customers.
        with passes.trace(app, at) as rows:
            for r in rows:
                line = {
                    "customer": r.external_id,
                    "last_purchase_at": r.last_purchase_at.isoformat(),
                    "value_class": r.value_class.value if r.value_class else None,
                    "decision": r.verdict.value,
                    "step": passes.step_key(app, r.kind, r.step_index, r.verdict),
                    "enters": r.enters,
                }
                sys.stdout.write(json.dumps(line) + "\n")
        return
    report = passes.plan_pass(app, at)
    views.pass_report(report, None)
    if limit > 0:
        with passes.trace(app, at, limit) as rows:
            shown = [(r, passes.step_key(app, r.kind, r.step_index, r.verdict)) for r in rows]
        views.trace_table(shown, limit)


@cli.command()
def bounces(
    source: Annotated[Path, typer.Argument(help="A Maildir folder, an mbox file, or one message file.")],
    as_json: JsonOption = False,
) -> None:
    """Read bounce reports (RFC 3464 DSNs) and suppress every address that bounced hard (5.x.x)."""

    def body() -> None:
        result = process_bounces(app_from_state(), source, datetime.now(UTC))
        if as_json:
            views.print_json(result)
        else:
            views.out.print(
                f"Read {result.messages:,} messages, {result.reports:,} bounce reports: "
                f"{len(result.suppressed):,} addresses suppressed, "
                f"{result.soft:,} temporary failures ignored."
            )

    guard(body)


@cli.command()
def report(as_json: JsonOption = False) -> None:
    """What the campaign earned: per step and overall, with ROMI."""

    def body() -> None:
        result = reporting.campaign_report(app_from_state())
        if as_json:
            views.print_json(result)
        else:
            views.campaign(result)

    guard(body)


@cli.command()
def demo(
    db: Annotated[Path, typer.Option("--db", help="Where to create the demo database.")] = Path(
        "reactivator-demo.db"
    ),
    outbox: Annotated[Path, typer.Option("--outbox", help="Where the demo's letters are written.")] = Path(
        "demo-outbox"
    ),
) -> None:
    """Create a demo shop in a fresh SQLite database, run the campaign on it and show the results."""
    from reactivator.service.demo import run_demo

    def body() -> None:
        result = run_demo(db, outbox, datetime.now(UTC), config=state["config"])
        views.segments(result.segments)
        views.pass_report(result.pass_report, result.sent)
        views.campaign(result.campaign)
        views.out.print(
            f"\nDemo database: [bold]{db}[/]; "
            f"{result.letters_written} letters sent over SMTP to a capture server on 127.0.0.1 "
            f"and written to [bold]{outbox}/[/] (.eml as received, .html to open in a browser).\n"
            f"Try: REACTIVATOR_DATABASE__URL=sqlite:///{db} {program()} run --dry-run\n"
            f"and: REACTIVATOR_DATABASE__URL=sqlite:///{db} {program()} preview --serve\n"
            f"and: REACTIVATOR_DATABASE__URL=sqlite:///{db} {program()} daemon --capture {outbox}"
        )

    guard(body)


def main() -> None:
    cli()
