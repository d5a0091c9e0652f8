"""Who may use the console: one person on this machine, through this page only.

The console listens on loopback. A page on another site can still make the
browser talk to 127.0.0.1, so two more guards hold for every page and form:
the Host header must name loopback (DNS rebinding), and a request that
changes something must come from the console's own origin (cross-site forms).
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOST = "127.0.0.1"
LOOPBACK_NAMES = ["127.0.0.1", "localhost"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 4096


class SameOriginWrites:
    """Refuses (403) a request that changes something when its Origin is another site's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            origin = headers.get("origin")
            own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
            if origin is not None and origin != own:
                await PlainTextResponse("cross-site request refused", status_code=403)(scope, receive, send)
                return
            if int(headers.get("content-length") or 0) > MAX_FORM_BYTES:
                await PlainTextResponse("form too large", status_code=413)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def console_middleware() -> list[Middleware]:
    """The guards every console page is served behind."""
    return [
        Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_NAMES),
        Middleware(SameOriginWrites),
    ]
