"""`reactivator daemon` and `reactivator status`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from reactivator.cli import views
from reactivator.cli.common import JsonOption, app_from_state, guard


def daemon(
    log_level: Annotated[
        str,
        typer.Option("--log-level", help="debug, info, warning or error.", case_sensitive=False),
    ] = "info",
    capture: Annotated[
        Path | None,
        typer.Option(
            "--capture",
            help="Try it out: send to a built-in capture SMTP server that writes each letter to this "
            "folder, instead of [smtp].",
        ),
    ] = None,
) -> None:
    """Run as a service: passes on a schedule, sending, and the web endpoints, until SIGTERM."""
    from reactivator import logs

    if log_level.lower() not in logs.LEVELS:
        views.err.print(f"[red]error:[/] --log-level {log_level!r}: use one of {', '.join(logs.LEVELS)}")
        raise typer.Exit(2)
    logs.configure(log_level)

    def body() -> int:
        from reactivator.daemon import run
        from reactivator.mail.capture import CaptureServer
        from reactivator.service.app import app_from_settings

        app = app_from_state()
        if capture is None:
            return run(app)
        with CaptureServer(capture) as server:
            smtp = app.settings.smtp.model_copy(
                update={
                    "host": "127.0.0.1",
                    "port": server.port,
                    "starttls": False,
                    "tls": False,
                    "username": "",
                }
            )
            views.err.print(
                f"Letters go to a capture server on 127.0.0.1:{server.port}, written to {capture}/"
            )
            return run(app_from_settings(app.settings.model_copy(update={"smtp": smtp})))

    code = guard(body)
    raise typer.Exit(code)


def status(as_json: JsonOption = False) -> None:
    """What the daemons see now: next pass, queue depth by state, deferred by domain, last errors."""
    from reactivator.service.status import status as read_status

    def body() -> None:
        found = read_status(app_from_state(), datetime.now(UTC))
        if as_json:
            views.print_json(
                {
                    "now": found.now,
                    "daemons": found.daemons,
                    "next_pass_at": found.next_pass_at,
                    "queue": found.queue,
                    "deferred_by_domain": found.deferred_by_domain,
                    "paused_domains": found.paused_domains,
                    "alerts": found.alerts,
                    "recent_errors": found.recent_errors,
                }
            )
        else:
            views.status(found)

    guard(body)
