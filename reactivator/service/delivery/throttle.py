"""Rate limits and pauses: a global pace, and per recipient domain a pace and a concurrency.

Large mailbox providers throttle or block senders that open too many
sessions or send too fast; a policy rejection (5.7.x) pauses a whole domain.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiolimiter import AsyncLimiter

from reactivator.config import DeliverySettings


class Throttle:
    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        rate = settings.messages_per_second
        self._global = AsyncLimiter(rate, 1) if rate > 0 else None
        self._domains: dict[str, tuple[asyncio.Semaphore, AsyncLimiter | None]] = {}
        self._paused_until: dict[str, float] = {}

    def paused_for(self, domain: str) -> float:
        """Seconds until `domain` may be mailed again (0 when it may now)."""
        until = self._paused_until.get(domain, 0.0)
        return max(0.0, until - time.monotonic())

    def pause(self, domain: str, seconds: float) -> None:
        """No letter to `domain` for `seconds` (a pause already running longer is kept)."""
        until = time.monotonic() + seconds
        self._paused_until[domain] = max(until, self._paused_until.get(domain, 0.0))

    @asynccontextmanager
    async def slot(self, domain: str) -> AsyncIterator[None]:
        """Wait for a free slot for `domain` within every limit, and hold it while sending."""
        if domain not in self._domains:
            rate = self.settings.domain_messages_per_second
            limiter = AsyncLimiter(rate, 1) if rate > 0 else None
            self._domains[domain] = (asyncio.Semaphore(self.settings.domain_concurrency), limiter)
        concurrency, domain_rate = self._domains[domain]
        async with concurrency:
            if domain_rate is not None:
                await domain_rate.acquire()
            if self._global is not None:
                await self._global.acquire()
            yield
