"""Readiness: can this process do its work now? The database answers and the SMTP server greets us.

Probes come often (a load balancer, systemd, Kubernetes), so an answer is
reused for a few seconds rather than opening an SMTP session per probe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from reactivator.errors import ReactivatorError
from reactivator.mail.factory import build_mailer
from reactivator.service.app import App

log = logging.getLogger("reactivator.readiness")
REUSE_SECONDS = 5.0
PROBE_TIMEOUT_SECONDS = 5.0


@dataclass
class Readiness:
    app: App
    _last: tuple[float, dict[str, str]] | None = field(default=None, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def check(self) -> dict[str, str]:
        """{"database": "ok" | "unreachable", "smtp": "ok" | "unreachable"}."""
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < REUSE_SECONDS:
                return self._last[1]
            found = {"database": await self._database(), "smtp": await self._smtp()}
            self._last = (time.monotonic(), found)
            return found

    async def _database(self) -> str:
        try:
            await asyncio.to_thread(self.app.db.ping)
        except ReactivatorError as exc:
            log.warning("not ready: the database does not answer: %s", exc)
            return "unreachable"
        return "ok"

    async def _smtp(self) -> str:
        mailer = build_mailer(self.app.settings, timeout_seconds=PROBE_TIMEOUT_SECONDS)
        try:
            await mailer.probe()
        except ReactivatorError as exc:
            log.warning("not ready: the mail server does not answer: %s", exc)
            return "unreachable"
        finally:
            await mailer.close()
        return "ok"
