"""A capture SMTP server (aiosmtpd on 127.0.0.1) that writes each letter it receives to a folder.

The demo sends through the real SMTP path into it; anyone can point
`[smtp]` at it to look at what a run would send (`.eml` as received, and the
HTML part as `.html` to open in a browser).
"""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller


class _WriteToFolder:
    def __init__(self, folder: Path, html_filter: Callable[[str, Path], str] | None) -> None:
        self.folder = folder
        self.html_filter = html_filter
        self.count = 0
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            number = next(self._numbers)
            self.count += 1
        recipient = str(envelope.rcpt_tos[0]) if envelope.rcpt_tos else "nobody"
        stem = f"{number:04d}-{recipient.replace('@', '_at_')}"
        (self.folder / f"{stem}.eml").write_bytes(envelope.content)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        if isinstance(parsed, EmailMessage):
            html = parsed.get_body(("html",))
            if html is not None:
                page = str(html.get_content())
                if self.html_filter is not None:
                    page = self.html_filter(page, self.folder)
                (self.folder / f"{stem}.html").write_text(page, encoding="utf-8")
        return "250 2.0.0 captured"


class CaptureServer:
    """`with CaptureServer(folder) as server:` listens on 127.0.0.1:`server.port`."""

    def __init__(
        self, folder: Path, port: int = 0, html_filter: Callable[[str, Path], str] | None = None
    ) -> None:
        """`html_filter(html, folder)` may change the `.html` copy (the demo draws its pictures there)."""
        self.folder = folder
        self.port = port or free_port()
        self._handler = _WriteToFolder(folder, html_filter)
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> int:
        return self._handler.count

    def __enter__(self) -> CaptureServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._controller.stop()


def free_port() -> int:
    """A TCP port nobody on 127.0.0.1 listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
