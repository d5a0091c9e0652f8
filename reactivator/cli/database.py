"""`reactivator db`: create, upgrade and inspect the database schema."""

from __future__ import annotations

import typer

from reactivator.cli import views
from reactivator.cli.common import app_from_state, guard

db_cli = typer.Typer(help="Database schema.", no_args_is_help=True)


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
