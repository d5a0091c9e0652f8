"""What the workers of one send run share: the app, the composer, the mailer, pace, threads,
render processes, and the group transactions of last checks and results."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from reactivator.core.delivery import DeliveryRules, LetterState, Outcome
from reactivator.core.ports import Mailer
from reactivator.db import letters as letter_rows
from reactivator.render.composer import LetterBuilder
from reactivator.render.processes import RenderProcesses
from reactivator.service.app import App
from reactivator.service.delivery.backoff import retry_delay
from reactivator.service.delivery.report import SendReport
from reactivator.service.delivery.throttle import Throttle

if TYPE_CHECKING:
    from sqlalchemy import Connection

T = TypeVar("T")

# What a job of a group transaction does: read the letter's state, record it as sent, or
# run a write that records another outcome.
_CHECK = "check"
_SENT = "sent"


@dataclass(eq=False)
class _Job:
    """A letter's check or result waiting for the next group transaction, and who waits for it."""

    letter_id: int
    op: str | Callable[[Connection], Outcome]
    done: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


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
    # Render processes that build the letters, if the run has them (else: the threads),
    # and the letters they are building ahead of their turn.
    renderer: RenderProcesses | None = None
    ahead: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    # Letters the server has answered for and whose result is not recorded yet.
    answered: set[int] = field(default_factory=set)
    # Checks and results waiting for the next group transaction, and the task running the groups.
    _waiting: list[_Job] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None

    @classmethod
    def start(
        cls,
        app: App,
        composer: LetterBuilder,
        mailer: Mailer,
        now: datetime,
        worker: str,
        renderer: RenderProcesses | None = None,
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
            renderer=renderer,
        )

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (database, rendering) on a worker thread."""
        return await asyncio.wrap_future(self.threads.submit(fn, *args))

    async def check(self, letter_id: int) -> LetterState:
        """The letter's state read in the next group transaction: its last check before it goes.

        The checks of every connection about to send go together in one query, in
        the same transaction as the results waiting to be written (written first).
        """
        state: LetterState = await asyncio.shield(self._submit(_Job(letter_id, _CHECK)))
        return state

    def submit_sent(self, letter_id: int) -> asyncio.Future[bool]:
        """Queue the record of a letter the server accepted for the next group commit, now;
        the future says whether it was recorded (False: its lease was lost meanwhile)."""
        self.answered.add(letter_id)
        return self._submit(_Job(letter_id, _SENT))

    def submit(
        self, letter_id: int, write: Callable[[Connection], Outcome], *, answered: bool = True
    ) -> asyncio.Future[Outcome]:
        """Queue what became of a letter (`write` writes it) for the next group commit, now.

        `answered`: the server answered for it, so that a run cancelled before the
        result is durable keeps the letter's lease instead of giving it back.
        """
        if answered:
            self.answered.add(letter_id)
        return self._submit(_Job(letter_id, write))

    async def record(
        self, letter_id: int, write: Callable[[Connection], Outcome], *, answered: bool = True
    ) -> Outcome:
        """`submit`, and wait until it is durable."""
        return await asyncio.shield(self.submit(letter_id, write, answered=answered))

    def _submit(self, job: _Job) -> asyncio.Future[Any]:
        """Queue `job` for the next group transaction; its future is done once that commits.

        Results that arrive while a group is being written go together into the next
        transaction: one commit for as many letters as there are connections. Queued at
        once, not when a task gets round to it, so that a connection's result is always
        in the same transaction as its next letter's check, or an earlier one. Callers
        wait shielded: a run cancelled meanwhile still records it (a delivered letter
        given back would go twice).
        """
        # Read by nobody if this worker is cancelled meanwhile: the failure is the run's, not lost.
        job.done.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting.append(job)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_groups())
        return job.done

    async def _write_groups(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                results = await asyncio.shield(asyncio.wrap_future(self.threads.submit(self._commit, group)))
            except Exception as exc:  # nothing of the group is written: each waiting worker fails
                for job in group:
                    if not job.done.done():
                        job.done.set_exception(exc)
            else:
                for job, result in zip(group, results, strict=True):
                    if not job.done.done():
                        job.done.set_result(result)

    def _commit(self, group: list[_Job]) -> list[Any]:
        """Write a group's results, then read its checks, in one transaction (on a worker thread)."""
        sent = [job.letter_id for job in group if job.op == _SENT]
        checked = [job.letter_id for job in group if job.op == _CHECK]
        writes = len(checked) < len(group)
        with self.app.db.write() if writes else self.app.db.read() as conn:
            recorded = letter_rows.mark_sent(conn, sent, self.worker, self.now) if sent else set()
            results: list[Any] = [
                job.op(conn) if callable(job.op) else job.letter_id in recorded
                for job in group
                if job.op != _CHECK
            ]
            states = letter_rows.current_states(conn, checked) if checked else {}
            by_job = iter(results)
            # Inside the transaction: a letter that is gone (a KeyError) rolls the group back.
            answers = [states[job.letter_id] if job.op == _CHECK else next(by_job) for job in group]
        for job in group:
            if job.op != _CHECK:
                self.answered.discard(job.letter_id)
        return answers

    def commit_waiting(self) -> None:
        """Write, on this thread, the results no group has taken yet (a run that is being cancelled)."""
        group, self._waiting = self._waiting, []
        if group:
            self._commit(group)
