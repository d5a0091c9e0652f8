"""The schedule (APScheduler), from `[daemon]`, never a pickled job store.

A pass at start, then every `pass_every_seconds`; the daily segmentation at
`segments_at` in `timezone`; a heartbeat. Jobs coalesce, never overlap, and
tolerate being late by one period, so a daemon that was suspended for days
runs one catch-up pass, not hundreds. Each job runs under a guard: an error is
logged and recorded, and never takes the daemon down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from reactivator.config.feedback import FeedbackSettings
from reactivator.config.service import DaemonSettings
from reactivator.daemon.jobs import Jobs
from reactivator.errors import ReactivatorError

log = logging.getLogger("reactivator.daemon")
Job = Callable[[], Coroutine[Any, Any, Any]]


class JobGuard:
    """Runs jobs so that they never take the daemon down, and knows which are running."""

    def __init__(self, stopping: asyncio.Event, record_error: Callable[[str], None]) -> None:
        self.stopping = stopping
        self.record_error = record_error
        self.running: set[asyncio.Task[Any]] = set()

    def __call__(self, name: str, fn: Job) -> Callable[[], Coroutine[Any, Any, None]]:
        async def job() -> None:
            if self.stopping.is_set():
                return
            task = asyncio.current_task()
            assert task is not None
            self.running.add(task)
            try:
                await fn()
            except asyncio.CancelledError:
                if not self.stopping.is_set():
                    raise
                # The daemon stopped before the job could finish: nothing to report.
            except Exception as exc:
                # A known trouble (the database is down...) needs no traceback; a bug does.
                log.error("%s failed: %s", name, exc, exc_info=not isinstance(exc, ReactivatorError))
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.record_error, f"{name}: {exc}")
            finally:
                self.running.discard(task)

        job.__name__ = name
        return job


def build_schedule(
    config: DaemonSettings, jobs: Jobs, guard: JobGuard, feedback: FeedbackSettings | None = None
) -> AsyncIOScheduler:
    """The daemon's scheduler, not started."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    every = config.pass_every_seconds
    scheduler.add_job(
        guard("pass", jobs.run_pass),
        IntervalTrigger(seconds=every, timezone=UTC),
        id="pass",
        name="pass",
        next_run_time=datetime.now(UTC),  # the first pass runs at start
        coalesce=True,
        max_instances=1,
        misfire_grace_time=every,
    )
    scheduler.add_job(
        guard("segments", jobs.segmentation),
        CronTrigger(hour=config.segments_at.hour, minute=config.segments_at.minute, timezone=config.timezone),
        id="segments",
        name="segmentation",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=12 * 3600,
    )
    beat = max(1, round(config.heartbeat_seconds))
    scheduler.add_job(
        guard("heartbeat", jobs.heartbeat),
        IntervalTrigger(seconds=beat, timezone=UTC),
        id="heartbeat",
        name="heartbeat",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=beat,
    )
    if feedback is not None and feedback.mailbox:
        poll = feedback.poll_minutes * 60
        scheduler.add_job(
            guard("feedback", jobs.read_feedback),
            IntervalTrigger(seconds=poll, timezone=UTC),
            id="feedback",
            name="feedback mailbox",
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, round(poll)),
        )
    return scheduler


def next_pass_at(scheduler: AsyncIOScheduler | None) -> datetime | None:
    job = scheduler.get_job("pass") if scheduler else None
    return job.next_run_time.astimezone(UTC) if job is not None and job.next_run_time else None
