"""`reactivator coupons`: the codes the letters carry, for the shop's checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reactivator.cli import views
from reactivator.cli.common import app_from_state, guard, parse_now

coupons_cli = typer.Typer(help="Coupon codes: export ours for the shop's checkout.", no_args_is_help=True)


@coupons_cli.command("export")
def coupons_export(
    since: Annotated[
        str | None, typer.Option("--since", help="Only codes of letters queued from then (ISO 8601).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the CSV here instead of stdout.")] = None,
) -> None:
    """The codes reactivator made (not the shop's pool): code, percentage, value, usage limit 1,
    expiry, step; a CSV to load into the shop's discounts so that the checkout accepts them."""

    def body() -> None:
        from reactivator.service.coupons import export_generated

        text = export_generated(app_from_state(), parse_now(since) if since else None)
        if out is None:
            print(text, end="")
            return
        out.write_text(text, encoding="utf-8")
        views.err.print(f"{text.count(chr(10)) - 1:,} codes written to {out}")

    guard(body)
