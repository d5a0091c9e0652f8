"""One customer at a time: record a purchase, unsubscribe, erase, look one up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from reactivator.cli import views
from reactivator.cli.common import JsonOption, NowOption, app_from_state, guard, parse_now
from reactivator.errors import InputError


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
        from reactivator.service import customers as customer_ops
        from reactivator.service.imports.rows import RowError, parse_amount_cents

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


def unsubscribe(email: Annotated[str, typer.Argument(help="Email address (or customer id).")]) -> None:
    """Unsubscribe a customer: every enrollment ends and no further letter goes out."""

    def body() -> None:
        from reactivator.service import customers as customer_ops

        outcome = customer_ops.unsubscribe(app_from_state(), email, datetime.now(UTC))
        messages = {
            "unsubscribed": "is unsubscribed; every enrollment ended.",
            "already": "was already not mailed.",
            "suppressed": "is not a customer yet; the address is suppressed and will come in unsubscribed.",
        }
        views.out.print(f"{escape(email)} {messages[outcome]}")

    guard(body)


def erase(
    customer_id: Annotated[str, typer.Argument(help="Customer id (or email).")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a customer's personal data on request; anonymous order totals stay for reports."""
    if not yes and not typer.confirm(f"Erase the personal data of {customer_id}? This cannot be undone"):
        raise typer.Exit(1)
    from reactivator.service import customers as customer_ops

    guard(lambda: customer_ops.erase(app_from_state(), customer_id, datetime.now(UTC)))
    views.out.print(f"Erased {escape(customer_id)}.")


def customer(
    customer_id: Annotated[str, typer.Argument(help="Customer id (or email).")],
    now: NowOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one customer: status (returned, in campaign, dormant...), value and enrollment history."""

    def body() -> None:
        from reactivator.service import customers as customer_ops

        view = customer_ops.show(app_from_state(), customer_id, parse_now(now))
        if as_json:
            views.print_json(
                {
                    "status": view.status,
                    "customer": view.customer,
                    "enrollments": view.enrollments,
                    "letters": view.letters,
                    "survey_answers": [{"at": at, "reason": reason} for at, reason in view.survey_answers],
                    "replies": view.replies,
                }
            )
            return
        views.customer_view(view)

    guard(body)


def export(customer_id: Annotated[str, typer.Argument(help="Customer id (or email).")]) -> None:
    """Everything reactivator holds about one customer, as JSON (a data request, GDPR art. 15)."""

    def body() -> None:
        from reactivator.service.data_requests import export_customer

        views.print_json(export_customer(app_from_state(), customer_id, datetime.now(UTC)))

    guard(body)
