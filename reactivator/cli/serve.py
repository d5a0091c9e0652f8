"""`reactivator serve`: the public web endpoints on their own (the daemon serves them too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from reactivator.cli import views
from reactivator.cli.common import app_from_state, guard


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address (default: web.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: web.port).")] = None,
) -> None:
    """Serve opens, clicks, one-click unsubscribe, the survey, the purchase webhook, /healthz and /metrics."""

    def body() -> None:
        import uvicorn

        from reactivator.service.engagement import Engagement
        from reactivator.web.endpoints import build_web_app

        app = app_from_state()
        web = app.settings.web
        engagement = Engagement.start(app, datetime.now(UTC))
        bind_host, bind_port = host or web.host, port or web.port
        views.err.print(f"Serving on http://{bind_host}:{bind_port}/ (letters link to {web.base_url}).")
        uvicorn.run(build_web_app(engagement), host=bind_host, port=bind_port, log_level="warning")

    guard(body)
