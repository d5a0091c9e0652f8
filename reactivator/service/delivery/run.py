"""What the workers of one send run share: the app, the composer, the mailer, pace and threads."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from reactivator.core.delivery import DeliveryRules, Outcome
from reactivator.core.ports import Mailer
from reactivator.render.composer import LetterBuilder
from reactivator.service.app import App
from reactivator.service.delivery.backoff import retry_delay
from reactivator.service.delivery.report import SendReport
from reactivator.service.delivery.throttle import Throttle

if TYPE_CHECKING:
    from sqlalchemy import Connection

T = TypeVar("T")

# A result waiting for its group commit: the letter, what writes its outcome, and who waits for it.
_Waiting = tuple[int, Callable[["Connection"], Outcome], "asyncio.Future[Outcome]"]


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
    # Results waiting for the next group commit, and the task writing the groups.
    _waiting: list[_Waiting] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

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

    async def record(self, letter_id: int, write: Callable[[Connection], Outcome]) -> Outcome:
        """Record what the server answered for a letter, in the next group commit.

        Results that arrive while a group is being written go together into the next
        transaction: one commit for as many letters as there are connections. Each
        worker takes its next letter only once its last result is durable, so a crash
        leaves at most one letter per connection sent and not recorded, as before.
        Shielded: a run cancelled meanwhile still records it (a delivered letter given
        back would go twice).
        """
        self.answered.add(letter_id)
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        # Read by nobody if this worker is cancelled meanwhile: the failure is the run's, not lost.
        done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting.append((letter_id, write, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_groups())
        return await asyncio.shield(done)

    async def _write_groups(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                outcomes = await asyncio.shield(asyncio.wrap_future(self.threads.submit(self._commit, group)))
            except Exception as exc:  # nothing of the group is written: each waiting worker fails
                for _, _, done in group:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for (_, _, done), outcome in zip(group, outcomes, strict=True):
                    if not done.done():
                        done.set_result(outcome)

    def _commit(self, group: list[_Waiting]) -> list[Outcome]:
        """Write a group of results in one transaction (on a worker thread)."""
        with self.app.db.write() as conn:
            outcomes = [write(conn) for _, write, _ in group]
        for letter_id, _, _ in group:
            self.answered.discard(letter_id)
        return outcomes

    def commit_waiting(self) -> None:
        """Write, on this thread, the results no group has taken yet (a run that is being cancelled)."""
        group, self._waiting = self._waiting, []
        if group:
            self._commit(group)
