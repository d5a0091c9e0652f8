"""Pages that follow the files: a template saved on disk tells every open page to reload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from watchfiles import awatch

from reactivator.web.console.state import ConsoleState


def live_routes(state: ConsoleState) -> list[BaseRoute]:
    """`/events`: a server-sent event each time a template file changes."""

    async def events(request: Request) -> Response:
        queue: asyncio.Queue[str] = asyncio.Queue()
        state.listeners.add(queue)

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 1000\n\n"
                while not state.stop.is_set():
                    try:
                        version = await asyncio.wait_for(queue.get(), timeout=15)
                        yield f"data: {version}\n\n"
                    except TimeoutError:
                        yield ": keep-alive\n\n"
            finally:
                state.listeners.discard(queue)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    return [Route("/events", events)]


async def watch_templates(state: ConsoleState) -> None:
    """Tell every listener when a file under the templates folder changes, until the console stops."""
    folder = state.app.settings.templates.dir
    async for _changes in awatch(folder, stop_event=state.stop, debounce=200, recursive=True):
        for queue in list(state.listeners):
            queue.put_nowait("changed")
