"""The root command: --config, and every command registered from its own module.

Each command module imports only typer and rich at the top and the services
it calls inside the command, so `reactivator --help` and every `--help`
answer at once and a command pays only for its own work.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperOption

from reactivator.cli import campaign, customers, demo, doctor, feedback
from reactivator.cli.common import state
from reactivator.cli.console import console
from reactivator.cli.coupons import coupons_cli
from reactivator.cli.daemon import daemon, status
from reactivator.cli.database import db_cli
from reactivator.cli.imports import import_cli
from reactivator.cli.letters import preview, templates_cli
from reactivator.cli.serve import serve

_type_label = TyperOption.display_type_rich


def _flags_take_no_value(self: TyperOption, ctx: typer.Context) -> str | None:
    # Typer labels every option with its type, flags too ("--open <bool>"), which reads as if
    # a flag took a value: a flag shows none.
    return None if self.is_flag else _type_label(self, ctx)


TyperOption.display_type_rich = _flags_take_no_value  # type: ignore[method-assign,assignment]

cli = typer.Typer(
    name="reactivator",
    help="Win back dormant customers by email.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


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


cli.add_typer(db_cli, name="db")
cli.add_typer(import_cli, name="import")
cli.add_typer(templates_cli, name="templates")
cli.add_typer(coupons_cli, name="coupons")
for command in (
    preview,
    serve,
    daemon,
    status,
    customers.purchase,
    customers.unsubscribe,
    customers.erase,
    customers.export,
    customers.customer,
    campaign.segments,
    campaign.run,
    campaign.reopen,
    feedback.intake,
    feedback.bounces,
    feedback.resume,
    doctor.doctor,
    campaign.report,
    console,
    demo.demo,
):
    cli.command()(command)


def main() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)  # loaded: commands handle Ctrl+C themselves
    try:
        cli()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
