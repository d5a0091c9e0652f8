"""The console's one static file: plotly.js, served from the plotly package (nothing from a CDN)."""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from reactivator.web.console.state import ConsoleState


def static_routes(state: ConsoleState) -> list[BaseRoute]:
    """`/static/plotly.min.js`, cached by the browser for a day."""
    script = resources.files("plotly") / "package_data" / "plotly.min.js"

    async def plotly(request: Request) -> Response:
        with resources.as_file(script) as path:
            return FileResponse(
                path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"}
            )

    return [Route("/static/plotly.min.js", plotly)]
