"""The daemon's web server: its socket bound first, served by uvicorn without uvicorn's signal handling."""

from __future__ import annotations

import contextlib
import socket
from typing import Any, Literal

import uvicorn

from reactivator.errors import ConfigError


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


def listen(host: str, port: int, section: str = "web") -> socket.socket:
    """Bind the web port before anything else starts, so a taken port is a clear error at start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP spelled out: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
    # so, and with Nagle on every small response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            [
                f"{section}.port = {port}: cannot listen on {host}:{port} ({exc.strerror}); stop what "
                f"uses it or set another port in [{section}] or via REACTIVATOR_{section.upper()}__PORT"
            ]
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def server_for(asgi_app: Any, lifespan: Literal["on", "off"] = "off") -> QuietServer:
    return QuietServer(
        uvicorn.Config(
            asgi_app, log_config=None, access_log=False, lifespan=lifespan, timeout_graceful_shutdown=5
        )
    )
