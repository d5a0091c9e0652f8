"""This daemon's row in the daemons table: alive, what it plans, what went wrong (`reactivator status`)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

from reactivator.db import daemons
from reactivator.service.app import App


class DaemonRecord:
    """Writes what `reactivator status` reads; each call is one short transaction (call it off the loop)."""

    def __init__(self, app: App, name: str, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.name = name
        self.clock = clock
        self.host, self.pid = socket.gethostname(), os.getpid()

    def _write(self, fn: Callable[..., None], *args: Any) -> None:
        with self.app.db.write() as conn:
            fn(conn, self.name, *args)

    def register(self, now: datetime) -> None:
        self._write(daemons.register, self.host, self.pid, now)

    def unregister(self) -> None:
        self._write(daemons.unregister)

    def beat(self, next_pass_at: datetime | None, alerts: list[str]) -> None:
        """Alive now, when it passes next, and its standing alerts."""
        self._write(daemons.heartbeat, self.clock(), next_pass_at, alerts)

    def passed(self, at: datetime, summary: dict[str, Any]) -> None:
        self._write(daemons.record_pass, at, summary)

    def segmented(self, at: datetime) -> None:
        self._write(daemons.record_segments, at)

    def error(self, error: str) -> None:
        self._write(daemons.record_error, self.clock(), error)
