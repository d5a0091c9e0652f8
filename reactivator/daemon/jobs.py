"""The daemon's jobs: a pass, the daily segmentation, the heartbeat. Each is public and runs on its own.

Blocking work runs on threads; a job that fails is logged and recorded by
the schedule's guard, and the next run tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reactivator.daemon.registry import DaemonRecord
from reactivator.daemon.templates import TemplateWatcher
from reactivator.service import coupons, feedback_mailbox, passes
from reactivator.service.app import App
from reactivator.service.passes import PassReport
from reactivator.service.reporting import segments as segment_reports
from reactivator.service.reporting.segments import SegmentReport
from reactivator.web.daemon_metrics import DaemonMetrics

log = logging.getLogger("reactivator.daemon")


@dataclass
class Jobs:
    app: App
    clock: Callable[[], datetime]
    metrics: DaemonMetrics
    record: DaemonRecord
    templates: TemplateWatcher | None = None
    next_pass_at: Callable[[], datetime | None] = lambda: None
    after_pass: Callable[[], None] = lambda: None  # wakes the send loop: letters were queued
    # The pass's thread, while one runs (it cannot be interrupted; shutdown looks at it).
    pass_running: asyncio.Future[Any] | None = field(default=None, init=False)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set, init=False)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    async def run_pass(self) -> PassReport | None:
        """Enroll and queue what is due now; None if another daemon of the fleet is running a pass."""
        now = self.clock()
        started = time.monotonic()
        self.pass_running = asyncio.ensure_future(
            asyncio.to_thread(passes.try_enroll_and_queue, self.app, now)
        )
        try:
            report: PassReport | None = await asyncio.shield(self.pass_running)
        except Exception:
            self.metrics.passes.labels("failed").inc()
            raise
        finally:
            if self.pass_running.done():  # (cut short by the process ending: the thread still runs)
                self.pass_running = None
        if report is None:
            self.metrics.passes.labels("skipped").inc()
            log.info("pass skipped: another daemon of the fleet is running one")
            return None
        took = time.monotonic() - started
        self.metrics.passes.labels("done").inc()
        self.metrics.pass_seconds.observe(took)
        self.metrics.last_pass.set(time.time())
        writes = report.writes
        summary = {
            "due": report.due(),
            "enrolled": writes.enrolled if writes else 0,
            "queued": writes.queued if writes else 0,
            "seconds": round(took, 3),
        }
        log.info("pass done", extra={"campaign": self.app.campaign, **summary})
        await asyncio.to_thread(self.record.passed, now, summary)
        await self.beat()
        if self.templates is not None:
            self.templates.log_alerts()
        for alert in await asyncio.to_thread(coupons.low_pools, self.app):
            log.warning("ALERT %s", alert)
        self.after_pass()
        return report

    async def segmentation(self) -> SegmentReport:
        """Dormant customers and the money at stake per tier: logged, exported, recorded."""
        now = self.clock()
        report = await asyncio.to_thread(segment_reports.segments, self.app, now)
        for tier in report.tiers:
            self.metrics.dormant.labels(tier.label).set(tier.customers)
            self.metrics.at_stake.labels(tier.label).set(tier.money_at_stake_cents / 100)
        log.info(
            "segmentation",
            extra={
                "tiers": {
                    t.label: {"customers": t.customers, "at_stake": t.money_at_stake_cents / 100}
                    for t in report.tiers
                },
                "currency": report.currency,
            },
        )
        await asyncio.to_thread(self.record.segmented, now)
        return report

    async def read_feedback(self) -> None:
        """Read the feedback mailbox: bounces, complaints, mailto: unsubscribes, replies."""
        source = self.app.settings.feedback.mailbox
        report = await asyncio.to_thread(feedback_mailbox.read_feedback, self.app, source, self.clock())
        if report.events or report.unknown:
            log.info(
                "feedback read",
                extra={"messages": report.messages, **report.events, "unknown": report.unknown},
            )
        for step in report.stopped_steps:
            log.warning("ALERT step %s stopped by the complaint brake; `reactivator resume %s`", step, step)
        if report.stopped_steps:
            await self.beat()

    async def heartbeat(self) -> None:
        """Say the daemon is alive; and reload the templates if a save went unnoticed."""
        # The watcher can miss a save (one made while it starts, or on a network file
        # system without change events): a cheap look at every heartbeat catches it.
        watcher = self.templates
        watching = watcher is not None and self.app.settings.daemon.watch_templates and not watcher.busy
        if watching and watcher is not None and await watcher.changed():
            self._background(watcher.reload())  # which beats when done; the job ends now
            return
        await self.beat()

    async def beat(self) -> None:
        alerts = self.templates.alerts() if self.templates else []
        self.metrics.template_alerts.set(len(alerts))
        left = await asyncio.to_thread(coupons.pool_left, self.app)
        for step, unused in left.items():
            self.metrics.coupon_pool.labels(step).set(unused)
        alerts = alerts + coupons.low_pools_of(left, self.app.settings.coupons.alert_below)
        await asyncio.to_thread(self.record.beat, self.next_pass_at(), alerts)
