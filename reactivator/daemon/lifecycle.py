"""Starting and stopping the daemon: its parts, the signals, and a shutdown that loses nothing.

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
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import uvicorn

from reactivator import logs
from reactivator.daemon.jobs import Jobs
from reactivator.daemon.registry import DaemonRecord
from reactivator.daemon.schedule import JobGuard, build_schedule, next_pass_at
from reactivator.daemon.templates import TemplateWatcher
from reactivator.daemon.web import listen, server_for
from reactivator.db.daemon_lock import DaemonLock
from reactivator.errors import ConfigError, ReactivatorError
from reactivator.mail.factory import build_mailer
from reactivator.render.links import Tokens
from reactivator.service.app import App
from reactivator.service.delivery import SendReport, worker_name
from reactivator.service.delivery.send_loop import SendLoop
from reactivator.service.engagement import Engagement
from reactivator.service.letters import signing_keys
from reactivator.service.template_versions import TemplateVersions
from reactivator.web.console import ConsoleState, build_console
from reactivator.web.console.access import console_password
from reactivator.web.daemon_metrics import DaemonMetrics
from reactivator.web.endpoints import build_web_app

log = logging.getLogger("reactivator.daemon")
INTERRUPTED = 130  # the exit code of a second signal: stopped without waiting


def utc_now() -> datetime:
    return datetime.now(UTC)


class Daemon:
    def __init__(self, app: App, clock: Callable[[], datetime] = utc_now) -> None:
        self.app = app
        self.config = app.settings.daemon
        self.clock = clock
        self.name = worker_name()
        self.metrics = DaemonMetrics()
        self.record = DaemonRecord(app, self.name, clock)
        self.lock = DaemonLock(app.db.sqlite_path, f"pid {self.record.pid} on {self.record.host}")
        self.stopping = asyncio.Event()  # first signal: stop claiming, finish what is in flight
        self.hurry = asyncio.Event()  # second signal: stop at once
        self.failed = False  # a part of the daemon died on its own
        self.guard = JobGuard(self.stopping, self.record.error)
        self.jobs = Jobs(app, clock, self.metrics, self.record)
        self.scheduler = build_schedule(self.config, self.jobs, self.guard, app.settings.feedback)
        self.jobs.next_pass_at = lambda: next_pass_at(self.scheduler)
        self.send_loop: SendLoop | None = None

    async def main(self) -> int:
        """Run until a signal; the process's exit code."""
        self.lock.acquire()  # AlreadyRunningError: a second daemon on this SQLite file
        try:
            return await self._run()
        finally:
            self.lock.release()
            logs.flush()

    async def _run(self) -> int:
        app, loop = self.app, asyncio.get_running_loop()
        now = self.clock()
        tokens = Tokens(await asyncio.to_thread(signing_keys, app, now))
        # A template that fails the check stops the daemon here, before anything is sent.
        versions = await asyncio.to_thread(TemplateVersions, app, tokens, now)
        templates = self.jobs.templates = TemplateWatcher(versions, self.clock, self.jobs.beat)
        web = app.settings.web
        sock = listen(web.host, web.port)
        console = self._console()  # a console off loopback without its password stops the start here

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        await asyncio.to_thread(self.record.register, now)

        server = server_for(build_web_app(Engagement(app, tokens), self.metrics.registry))
        self.send_loop = SendLoop(
            app,
            versions,
            worker=self.name,
            clock=self.clock,
            on_round=self._count,
            on_error=self._sending_failed,
        )
        self.jobs.after_pass = self.send_loop.wake
        tasks: dict[str, asyncio.Future[Any]] = {
            "web": asyncio.create_task(server._serve([sock]), name="web"),
            "send loop": await self.send_loop.start(),
        }
        servers: dict[str, uvicorn.Server] = {"web": server}
        if console is not None:
            servers["console"], console_sock = console
            tasks["console"] = asyncio.create_task(servers["console"]._serve([console_sock]), name="console")
        if self.config.watch_templates:
            tasks["watcher"] = asyncio.create_task(templates.watch(), name="watcher")
        self.scheduler.start()
        log.info(
            "daemon started",
            extra={
                "daemon": self.name,
                "database": app.db.safe_url,
                "web": f"http://{web.host}:{web.port}/",
                "pass_every_seconds": self.config.pass_every_seconds,
                "templates": versions.newest.catalog.version,
            },
        )
        await self._until_stopped(tasks)
        return await self._shut_down(servers, tasks)

    def _console(self) -> tuple[uvicorn.Server, Any] | None:
        """The marketer's console, when [console] serve asks for it: its server and bound socket."""
        settings = self.app.settings
        if not settings.console.serve:
            return None
        try:
            state = ConsoleState(app=self.app, mailer=build_mailer(settings), clock=self.clock)
            console = build_console(state, settings.console.host, console_password())
        except ValueError as exc:
            raise ConfigError([str(exc)]) from None
        sock = listen(settings.console.host, settings.console.port, "console")
        return server_for(console, lifespan="on"), sock

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

    async def _shut_down(
        self, servers: dict[str, uvicorn.Server], tasks: dict[str, asyncio.Future[Any]]
    ) -> int:
        # Paused, not shut down: shutting APScheduler down cancels the jobs running now, and a
        # pass must be let to commit. It is shut down once they are done.
        self.scheduler.pause()
        deadline = time.monotonic() + self.config.shutdown_grace_seconds
        assert self.send_loop is not None
        self.send_loop.stop()
        await self._finish(tasks["send loop"], deadline, cancel=self.send_loop.cancel)
        for job in list(self.guard.running):  # a pass is one transaction: let it commit, or not at all
            await self._finish(job, deadline, cancel=None)
        if "watcher" in tasks:
            tasks["watcher"].cancel()
        for name, server in servers.items():
            server.should_exit = True
            if self.hurry.is_set():
                server.force_exit = True
            await self._finish(tasks[name], time.monotonic() + 10, cancel=tasks[name].cancel)
        self.scheduler.shutdown(wait=False)
        with contextlib.suppress(ReactivatorError):
            await asyncio.to_thread(self.record.unregister)
        self.app.db.dispose()
        code = INTERRUPTED if self.hurry.is_set() else 1 if self.failed else 0
        log.log(logging.WARNING if code else logging.INFO, "daemon stopped", extra={"exit_code": code})
        running = self.jobs.pass_running
        if running is not None and not running.done():
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

    # ---- what the send loop reports -------------------------------------------------------

    def _sending_failed(self, error: Exception) -> None:
        self.metrics.send_errors.inc()
        with contextlib.suppress(Exception):
            self.record.error(f"sending: {error}")

    def _count(self, report: SendReport) -> None:
        for outcome, n in report.by_outcome().items():
            if n:
                self.metrics.letters.labels(outcome).inc(n)
        if report.letters():
            log.info("send round done", extra={k: v for k, v in report.by_outcome().items() if v})
