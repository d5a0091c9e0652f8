"""`reactivator console`: the marketer's pages (overview, report, survey, customers, letters)."""

from __future__ import annotations

from typing import Annotated

import typer

from reactivator.cli.common import app_from_state, guard
from reactivator.errors import ConfigError


def console(
    host: Annotated[str | None, typer.Option("--host", help="Address (default: console.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: console.port).")] = None,
) -> None:
    """Serve the marketer's console: what the campaign earned and caused, with charts, on 127.0.0.1."""

    def body() -> None:
        from reactivator.web.console import serve_console
        from reactivator.web.console.access import console_password

        app = app_from_state()
        settings = app.settings.console
        bind_host, bind_port = host or settings.host, port or settings.port
        if bind_port == app.settings.web.port:
            raise ConfigError(
                [f"console port {bind_port} is the public endpoints' port ([web] port): use another"]
            )
        try:
            serve_console(app, bind_host, bind_port, console_password())
        except ValueError as exc:
            raise ConfigError([str(exc)]) from None

    guard(body)
