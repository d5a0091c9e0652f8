"""`reactivator daemon`: passes on a schedule, a sender, the web endpoints, in one event loop.

The only module that imports APScheduler. The schedule comes from `[daemon]`
(never a pickled job store): a pass at start, then every `pass_every_seconds`;
the daily segmentation at `segments_at` in `timezone`; a heartbeat for
`reactivator status`. Jobs coalesce, never overlap, and tolerate being late
by one period, so a daemon that was suspended for days runs one catch-up
pass, not hundreds.

Everything that blocks (database passes, rendering, recording) runs on worker
threads; the loop only schedules, talks SMTP and serves HTTP, so the web
endpoints keep answering while a large batch goes out.

Stopping: the first SIGTERM or SIGINT stops claiming, lets letters in flight
finish for up to `shutdown_grace_seconds`, gives back every claimed letter,
waits for a pass in progress, stops the web server and exits 0. A second
signal stops at once (exit 130); letters in flight are given back too, so
nothing is lost and only a letter already on the wire can repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from watchfiles import awatch

from reactivator import logs
from reactivator.db import daemons
from reactivator.db.daemon_lock import DaemonLock
from reactivator.errors import ConfigError, ReactivatorError
from reactivator.render.links import Tokens
from reactivator.service import passes, reporting
from reactivator.service.app import App
from reactivator.service.delivery import SendReport, worker_name
from reactivator.service.delivery.send_loop import SendLoop
from reactivator.service.engagement import Engagement
from reactivator.service.letters import signing_keys
from reactivator.service.template_versions import TemplateVersions
from reactivator.web.daemon_metrics import DaemonMetrics
from reactivator.web.endpoints import build_web_app

log = logging.getLogger("reactivator.daemon")
INTERRUPTED = 130  # the exit code of a second signal: stopped without waiting


def utc_now() -> datetime:
    return datetime.now(UTC)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


def listen(host: str, port: int) -> socket.socket:
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
                f"web.port = {port}: cannot listen on {host}:{port} ({exc.strerror}); stop what uses "
                "it or set another port in [web] or via REACTIVATOR_WEB__PORT"
            ]
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Daemon:
    def __init__(self, app: App, clock: Callable[[], datetime] = utc_now) -> None:
        self.app = app
        self.config = app.settings.daemon
        self.clock = clock
        self.name = worker_name()
        self.metrics = DaemonMetrics()
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.lock = DaemonLock(app.db.sqlite_path, f"pid {self.pid} on {self.host}")
        self.templates: TemplateVersions | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self._pass_running: asyncio.Future[Any] | None = None
        self.sender: SendLoop | None = None
        self.stopping = asyncio.Event()  # first signal: stop claiming, finish what is in flight
        self.hurry = asyncio.Event()  # second signal: stop at once
        self.failed = False  # a part of the daemon died on its own
        self._reloading = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._jobs: set[asyncio.Task[Any]] = set()  # scheduled jobs running now

    # ---- start and stop -------------------------------------------------------------------

    async def main(self) -> int:
        """Run until a signal; the process's exit code."""
        self.lock.acquire()  # AlreadyRunningError: a second daemon on this SQLite file
        try:
            return await self._main()
        finally:
            self.lock.release()
            logs.flush()

    async def _main(self) -> int:
        app, loop = self.app, asyncio.get_running_loop()
        now = self.clock()
        tokens = Tokens(await asyncio.to_thread(signing_keys, app, now))
        # A template that fails the check stops the daemon here, before anything is sent.
        self.templates = await asyncio.to_thread(TemplateVersions, app, tokens, now)
        web = app.settings.web
        sock = listen(web.host, web.port)

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        await asyncio.to_thread(self._in_db, daemons.register, self.host, self.pid, now)

        server = _QuietServer(
            uvicorn.Config(
                build_web_app(Engagement(app, tokens), self.metrics.registry),
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=5,
            )
        )
        self.scheduler = self._schedule()
        self.sender = SendLoop(
            app,
            self.templates,
            worker=self.name,
            clock=self.clock,
            on_round=self._count,
            on_error=self._sending_failed,
        )
        tasks: dict[str, asyncio.Future[Any]] = {
            "web": asyncio.create_task(server._serve([sock]), name="web"),
            "sender": await self.sender.start(),
        }
        if self.config.watch_templates:
            tasks["watcher"] = asyncio.create_task(self._watch_templates(), name="watcher")
        self.scheduler.start()
        log.info(
            "daemon started",
            extra={
                "daemon": self.name,
                "database": app.db.safe_url,
                "web": f"http://{web.host}:{web.port}/",
                "pass_every_seconds": self.config.pass_every_seconds,
                "templates": self.templates.newest.catalog.version,
            },
        )
        await self._until_stopped(tasks)
        return await self._shut_down(server, tasks)

    async def _until_stopped(self, tasks: dict[str, asyncio.Future[Any]]) -> None:
        """Wait for a signal; a task that dies on its own is logged and stops the daemon too."""
        stop = asyncio.create_task(self.stopping.wait())
        done, _ = await asyncio.wait({stop, *tasks.values()}, return_when=asyncio.FIRST_COMPLETED)
        for name, task in tasks.items():
            if task not in done:
                continue
            error = None if task.cancelled() else task.exception()
            if error is None and self.stopping.is_set():
                continue  # it ended because the daemon is stopping (the signal came at the same time)
            log.error("the %s stopped unexpectedly: %s; stopping the daemon", name, error)
            self.failed = True
            self.stopping.set()
        stop.cancel()

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if not self.stopping.is_set():
            grace = self.config.shutdown_grace_seconds
            log.info(
                "%s: stopping; letters in flight may finish for up to %gs (send %s again to stop at once)",
                name,
                grace,
                name,
            )
            self.stopping.set()
        else:
            log.warning("%s again: stopping at once; letters in flight are given back", name)
            self.hurry.set()

    async def _shut_down(self, server: uvicorn.Server, tasks: dict[str, asyncio.Future[Any]]) -> int:
        assert self.scheduler is not None
        # Paused, not shut down: shutting APScheduler down cancels the jobs running now, and a
        # pass must be let to commit. It is shut down once they are done.
        self.scheduler.pause()
        deadline = time.monotonic() + self.config.shutdown_grace_seconds
        assert self.sender is not None
        self.sender.stop()
        await self._finish(tasks["sender"], deadline, cancel=self.sender.cancel)
        for job in list(self._jobs):  # a pass is one transaction: let it commit, or not at all
            await self._finish(job, deadline, cancel=None)
        if "watcher" in tasks:
            tasks["watcher"].cancel()
        server.should_exit = True
        if self.hurry.is_set():
            server.force_exit = True
        await self._finish(tasks["web"], time.monotonic() + 10, cancel=tasks["web"].cancel)
        self.scheduler.shutdown(wait=False)
        with contextlib.suppress(ReactivatorError):
            await asyncio.to_thread(self._in_db, daemons.unregister)
        self.app.db.dispose()
        code = INTERRUPTED if self.hurry.is_set() else 1 if self.failed else 0
        log.log(logging.WARNING if code else logging.INFO, "daemon stopped", extra={"exit_code": code})
        if self._pass_running is not None and not self._pass_running.done():
            # A pass is one transaction on a thread that cannot be interrupted: end the process
            # without waiting for it, and the database rolls the transaction back.
            logs.flush()
            self.lock.release()
            os._exit(code)
        return code

    async def _finish(
        self, work: asyncio.Future[Any], deadline: float, *, cancel: Callable[[], Any] | None
    ) -> None:
        """Wait for `work` until the deadline or a second signal; then `cancel` it, if given."""
        hurry = asyncio.create_task(self.hurry.wait())
        timeout = max(0.0, deadline - time.monotonic())
        await asyncio.wait({work, hurry}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        hurry.cancel()
        if not work.done():
            if cancel is None:
                log.warning("a job is still running; a pass's transaction is rolled back as the process ends")
                return
            if not self.hurry.is_set():
                log.warning("the shutdown grace ran out; letters still in flight are given back")
            cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception, TimeoutError):
            await asyncio.wait_for(asyncio.shield(work), 30)

    # ---- the schedule ---------------------------------------------------------------------

    def _schedule(self) -> AsyncIOScheduler:
        c = self.config
        scheduler = AsyncIOScheduler(timezone=UTC)
        every = c.pass_every_seconds
        scheduler.add_job(
            self._job(self._pass),
            IntervalTrigger(seconds=every, timezone=UTC),
            id="pass",
            name="pass",
            next_run_time=datetime.now(UTC),  # the first pass runs at start
            coalesce=True,
            max_instances=1,
            misfire_grace_time=every,
        )
        scheduler.add_job(
            self._job(self._segments),
            CronTrigger(hour=c.segments_at.hour, minute=c.segments_at.minute, timezone=c.timezone),
            id="segments",
            name="segmentation",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=12 * 3600,
        )
        beat = max(1, round(c.heartbeat_seconds))
        scheduler.add_job(
            self._job(self._heartbeat),
            IntervalTrigger(seconds=beat, timezone=UTC),
            id="heartbeat",
            name="heartbeat",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=beat,
        )
        return scheduler

    def _job(self, fn: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], Coroutine[Any, Any, None]]:
        """A job that never takes the daemon down: errors are logged and recorded; the next run retries."""

        async def job() -> None:
            if self.stopping.is_set():
                return
            task = asyncio.current_task()
            assert task is not None
            self._jobs.add(task)
            try:
                await fn()
            except asyncio.CancelledError:
                if not self.stopping.is_set():
                    raise
                # The daemon stopped before the job could finish: nothing to report.
            except Exception as exc:
                name = fn.__name__.strip("_")
                # A known trouble (the database is down...) needs no traceback; a bug does.
                log.error("%s failed: %s", name, exc, exc_info=not isinstance(exc, ReactivatorError))
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self._record_error, f"{name}: {exc}")
            finally:
                self._jobs.discard(task)

        job.__name__ = fn.__name__
        return job

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    def next_pass_at(self) -> datetime | None:
        job = self.scheduler.get_job("pass") if self.scheduler else None
        return job.next_run_time.astimezone(UTC) if job is not None and job.next_run_time else None

    # ---- the jobs -------------------------------------------------------------------------

    async def _pass(self) -> None:
        now = self.clock()
        started = time.monotonic()
        self._pass_running = asyncio.ensure_future(
            asyncio.to_thread(passes.try_enroll_and_queue, self.app, now)
        )
        try:
            report = await asyncio.shield(self._pass_running)
        except Exception:
            self.metrics.passes.labels("failed").inc()
            raise
        finally:
            if self._pass_running.done():  # (cut short by the process ending: the thread still runs)
                self._pass_running = None
        if report is None:
            self.metrics.passes.labels("skipped").inc()
            log.info("pass skipped: another daemon of the fleet is running one")
            return
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
        await asyncio.to_thread(self._record_pass, now, summary)
        self._alert_templates()
        if self.sender is not None:
            self.sender.wake()

    async def _segments(self) -> None:
        now = self.clock()
        report = await asyncio.to_thread(reporting.segments, self.app, now)
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
        await asyncio.to_thread(self._in_db, daemons.record_segments, now)

    async def _heartbeat(self) -> None:
        # The watcher can miss a save (one made while it starts, or on a network file
        # system without change events): a cheap look at every heartbeat catches it.
        watching = self.config.watch_templates and self.templates and not self._reloading.locked()
        if watching and self.templates and await self._templates_changed():
            self._background(self.reload_templates())
            return
        await asyncio.to_thread(self._beat)

    # ---- sending --------------------------------------------------------------------------

    def _sending_failed(self, error: Exception) -> None:
        self.metrics.send_errors.inc()
        with contextlib.suppress(Exception):
            self._record_error(f"sending: {error}")

    def _count(self, report: SendReport) -> None:
        for outcome, n in report.by_outcome().items():
            if n:
                self.metrics.letters.labels(outcome).inc(n)
        if report.letters():
            log.info("send round done", extra={k: v for k, v in report.by_outcome().items() if v})

    # ---- templates ------------------------------------------------------------------------

    async def _watch_templates(self) -> None:
        folder = self.app.settings.templates.dir
        async for _changes in awatch(folder, debounce=300, step=50, recursive=True):
            await self.reload_templates()

    async def _templates_changed(self) -> bool:
        assert self.templates is not None
        try:
            return await asyncio.to_thread(self.templates.stale)
        except Exception:
            return True  # unreadable now: the reload says why, and keeps the last good versions

    async def reload_templates(self) -> None:
        """Read the folder again: steps that pass move on, the others keep their last good version."""
        assert self.templates is not None
        async with self._reloading:
            try:
                result = await asyncio.to_thread(self.templates.reload, self.clock())
            except Exception as exc:  # whatever a saved file does, the daemon keeps sending
                log.error("ALERT: the templates could not be read (%s); the last good versions stay", exc)
                return
        if result.moved:
            moved = sorted(f"{locale}/{step}" for locale, step in result.moved)
            log.info("templates reloaded", extra={"version": result.version, "steps": moved})
        self._alert_templates()
        await asyncio.to_thread(self._beat)

    def _alert_templates(self) -> None:
        for alert in self.templates.alerts() if self.templates else []:
            log.error("ALERT: template not used: %s", alert)

    # ---- the daemons table ----------------------------------------------------------------

    def _in_db(self, fn: Callable[..., None], *args: Any) -> None:
        with self.app.db.write() as conn:
            fn(conn, self.name, *args)

    def _beat(self) -> None:
        """Say in the database that this daemon is alive, when it passes next, and its alerts."""
        alerts = self.templates.alerts() if self.templates else []
        self.metrics.template_alerts.set(len(alerts))
        self._in_db(daemons.heartbeat, self.clock(), self.next_pass_at(), alerts)

    def _record_pass(self, now: datetime, summary: dict[str, Any]) -> None:
        self._in_db(daemons.record_pass, now, summary)
        self._beat()

    def _record_error(self, error: str) -> None:
        self._in_db(daemons.record_error, self.clock(), error)


# How often a thread holding the interpreter lock is asked to let another run (Python's
# default is 5 ms). The web loop waits for the lock whenever the sender computes; at 0.5 ms
# its requests wait far less (measured in bench/daemon.py), at a small cost in switches.
SWITCH_INTERVAL_SECONDS = 0.0005


def run(app: App) -> int:
    """Run the daemon until it is stopped; the exit code."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    return asyncio.run(Daemon(app).main())
