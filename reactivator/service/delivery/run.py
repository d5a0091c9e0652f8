"""What the workers of one send run share: the app, the composer, the mailer, pace and threads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from reactivator.core.delivery import DeliveryRules, Outcome
from reactivator.core.ports import Mailer
from reactivator.render.composer import LetterBuilder
from reactivator.service.app import App
from reactivator.service.delivery.backoff import retry_delay
from reactivator.service.delivery.report import SendReport
from reactivator.service.delivery.throttle import Throttle

T = TypeVar("T")


def delivery_rules(app: App) -> DeliveryRules:
    d = app.settings.delivery
    return DeliveryRules(
        retry_lifetime=timedelta(hours=d.retry_lifetime_hours),
        domain_pause=timedelta(minutes=d.domain_pause_minutes),
        backoff=retry_delay,
    )


@dataclass
class DeliveryRun:
    """One send_due call."""

    app: App
    composer: LetterBuilder
    mailer: Mailer
    now: datetime
    worker: str
    throttle: Throttle
    rules: DeliveryRules
    report: SendReport
    threads: ThreadPoolExecutor
    # Letters the server has answered for and whose result is not recorded yet.
    answered: set[int] = field(default_factory=set)

    @classmethod
    def start(
        cls, app: App, composer: LetterBuilder, mailer: Mailer, now: datetime, worker: str
    ) -> DeliveryRun:
        return cls(
            app=app,
            composer=composer,
            mailer=mailer,
            now=now,
            worker=worker,
            throttle=Throttle(app.settings.delivery),
            rules=delivery_rules(app),
            report=SendReport(),
            threads=ThreadPoolExecutor(app.settings.sending.threads, thread_name_prefix="reactivator-send"),
        )

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (database, rendering) on a worker thread."""
        return await asyncio.wrap_future(self.threads.submit(fn, *args))

    async def record(self, letter_id: int, fn: Callable[..., Outcome], *args: Any) -> Outcome:
        """Record what the server answered for a letter, on a worker thread.

        Shielded: a run cancelled meanwhile still records it (a cancelled wait would
        cancel the queued work too, and a delivered letter would be given back).
        """
        self.answered.add(letter_id)
        outcome = await asyncio.shield(asyncio.wrap_future(self.threads.submit(fn, *args)))
        self.answered.discard(letter_id)
        return outcome
