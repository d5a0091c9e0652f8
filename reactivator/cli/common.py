"""What every command shares: the --config state, --now, and turning our errors into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.markup import escape

from reactivator.cli import views
from reactivator.errors import ConfigError, InputError, ReactivatorError

if TYPE_CHECKING:
    from reactivator.config import Settings
    from reactivator.service.app import App

state: dict[str, Any] = {"config": None}
T = TypeVar("T")

NowOption = Annotated[
    str | None, typer.Option("--now", help="Act as if it were this ISO 8601 time (default: now).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")]


def app_from_state(require_schema: bool = True) -> App:
    from reactivator.service.app import open_app

    return open_app(state["config"], require_schema=require_schema)


def settings_from_state() -> Settings:
    """The settings alone, for commands that need no database."""
    from reactivator.config import load_settings

    return load_settings(state["config"])


def parse_now(raw: str | None) -> datetime:
    if raw is None:
        return datetime.now(UTC)
    from reactivator.service.imports.rows import RowError, parse_instant

    try:
        return parse_instant(raw, field="--now")
    except RowError as exc:
        raise InputError(str(exc)) from None


def guard(fn: Callable[[], T]) -> T:
    """Run a command body; our errors become one clear line and exit code 1 (2 for config)."""
    try:
        return fn()
    except ConfigError as exc:
        views.err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except ReactivatorError as exc:
        views.err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def program() -> str:
    """How the user called us, so a suggested command works as typed (.venv/bin/reactivator)."""
    called = sys.argv[0] if sys.argv else ""
    return called if called.endswith("reactivator") else "reactivator"
