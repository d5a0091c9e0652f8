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
from reactivator.web.console.preview import preview_routes
from reactivator.web.console.state import ConsoleState

Section = Callable[[ConsoleState], list[BaseRoute]]

# Each page of the console is one section here; a new page is a module and a line.
SECTIONS: list[Section] = [preview_routes, live_routes]


def build_console(state: ConsoleState) -> Starlette:
    """Every section's routes, the guards of `access`, and the template watcher while it runs."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(watch_templates(state))
        try:
            yield
        finally:
            state.stop.set()
            task.cancel()

    routes = [route for section in SECTIONS for route in section(state)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=console_middleware())


def serve_console(app: App, port: int = 8026) -> None:
    """Serve the console on loopback until interrupted."""
    import uvicorn  # only the command that serves pays for the server

    state = ConsoleState(app=app, mailer=build_mailer(app.settings))
    print(f"Preview page: http://{LOOPBACK_HOST}:{port}/  (Ctrl+C to stop)")
    uvicorn.run(build_console(state), host=LOOPBACK_HOST, port=port, log_level="warning")
