"""Who may use the console: one person on this machine, or whoever knows its password.

The console listens on loopback by default. A page on another site can still
make the browser talk to 127.0.0.1, so two more guards hold for every page and
form: the Host header must name loopback (DNS rebinding), and a request that
changes something must come from the console's own origin (cross-site forms).
Bound to any other address, it starts only with REACTIVATOR_CONSOLE_PASSWORD
set, and every request must then carry it (HTTP Basic: the browser asks).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os

from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOST = "127.0.0.1"
LOOPBACK_NAMES = ["127.0.0.1", "localhost"]
LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})
PASSWORD_ENV = "REACTIVATOR_CONSOLE_PASSWORD"  # noqa: S105 (the name of the variable)
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


class PasswordRequired:
    """Asks for the console password (HTTP Basic; any user name) and refuses (401) without it."""

    def __init__(self, app: ASGIApp, password: str) -> None:
        self.app = app
        self.password = password.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            challenge = {"WWW-Authenticate": 'Basic realm="reactivator console", charset="UTF-8"'}
            response = PlainTextResponse("the console needs its password", status_code=401, headers=challenge)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        headers = dict(scope["headers"])
        scheme, _, encoded = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            _user, _, given = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self.password)


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_ADDRESSES or host.startswith("127.")


def console_password() -> str | None:
    """The password from the environment (never from a file), or None."""
    return os.environ.get(PASSWORD_ENV) or None


def console_middleware(host: str = LOOPBACK_HOST, password: str | None = None) -> list[Middleware]:
    """The guards every console page is served behind, for a console bound to `host`.

    ValueError if `host` is not loopback and there is no password.
    """
    guards: list[Middleware] = []
    if password:
        guards.append(Middleware(PasswordRequired, password=password))
    if is_loopback(host):
        guards.append(Middleware(TrustedHostMiddleware, allowed_hosts=LOOPBACK_NAMES))
    elif not password:
        raise ValueError(
            f"console.host = {host!r} is not loopback: set {PASSWORD_ENV} in the environment "
            "so that the console asks for a password, or keep it on 127.0.0.1"
        )
    guards.append(Middleware(SameOriginWrites))
    return guards
