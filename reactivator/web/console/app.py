"""The console as one ASGI app: its sections' routes behind the loopback guards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from reactivator.mail.factory import build_mailer
from reactivator.service.app import App
from reactivator.web.console.access import LOOPBACK_HOST, console_middleware
from reactivator.web.console.live import live_routes, watch_templates
from reactivator.web.console.pages import console_pages
from reactivator.web.console.preview import preview_routes
from reactivator.web.console.state import ConsoleState
from reactivator.web.console.static import static_routes

Section = Callable[[ConsoleState], list[BaseRoute]]

# Each page of the console is one section here; a new page is a module and a line.
SECTIONS: list[Section] = [console_pages, preview_routes, live_routes, static_routes]


def build_console(state: ConsoleState, host: str = LOOPBACK_HOST, password: str | None = None) -> Starlette:
    """Every section's routes, the guards of `access` for `host`, and the template watcher while it runs.

    ValueError if `host` is not loopback and there is no password.
    """
    middleware = console_middleware(host, password)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(watch_templates(state))
        try:
            yield
        finally:
            state.stop.set()
            task.cancel()

    routes = [route for section in SECTIONS for route in section(state)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def serve_console(
    app: App, host: str = LOOPBACK_HOST, port: int = 8027, password: str | None = None, path: str = "/"
) -> None:
    """Serve the console until interrupted (ValueError first if `host` needs a password it lacks)."""
    import uvicorn  # only the command that serves pays for the server

    state = ConsoleState(app=app, mailer=build_mailer(app.settings))
    console = build_console(state, host, password)
    shown = f"[{host}]" if ":" in host else host
    print(f"Console: http://{shown}:{port}{path}  (Ctrl+C to stop)", flush=True)
    uvicorn.run(console, host=host, port=port, log_level="warning")
