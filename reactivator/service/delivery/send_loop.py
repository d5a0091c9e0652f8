"""The daemon's send loop: a thread with an event loop of its own, sending whatever is due until stopped.

Why a thread of its own: a letter's SMTP conversation is CPU work in Python
(serialising the message, aiosmtplib's line handling) done on the loop that
holds the connections. On the web server's loop it would queue every HTTP
request behind a batch's letters; on its own loop the web endpoints only
share the interpreter lock with it. The database work runs on the worker
threads of `send_due`, and the letters are built by render processes where the
machine has cores to spare (render/processes; on those threads otherwise).

The loop sends what is due, then waits for a pass to queue more (`wake`)
or polls for letters that became due meanwhile (quiet hours ending, retries,
a paused domain resuming). `stop` ends claiming and lets letters in flight
finish; `cancel` stops at once (what `send_due` holds is given back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from reactivator.errors import ReactivatorError
from reactivator.mail.factory import build_mailer
from reactivator.render.composer import LetterBuilder
from reactivator.service.app import App
from reactivator.service.delivery.batches import render_processes, send_due
from reactivator.service.delivery.report import SendReport

log = logging.getLogger("reactivator.delivery")


class SendLoop:
    def __init__(
        self,
        app: App,
        composer: LetterBuilder,
        *,
        worker: str,
        clock: Callable[[], datetime],
        on_round: Callable[[SendReport], None],
        on_error: Callable[[Exception], None],
    ) -> None:
        self.app = app
        self.composer = composer
        self.worker = worker
        self.clock = clock
        self.on_round = on_round
        self.on_error = on_error
        self._ready = threading.Event()
        self._stop_asked = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._stop: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None

    async def start(self) -> asyncio.Future[None]:
        """Start the thread; a future of the caller's loop that is done when the loop ends."""
        caller = asyncio.get_running_loop()
        done: asyncio.Future[None] = caller.create_future()

        def settle(error: BaseException | None) -> None:
            if done.done():
                return
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

        def run() -> None:
            error: BaseException | None = None
            try:
                asyncio.run(self._main())
            except asyncio.CancelledError:
                pass  # cancelled on purpose (a second signal)
            except BaseException as exc:
                error = exc
            finally:
                self._ready.set()
                caller.call_soon_threadsafe(settle, error)

        threading.Thread(target=run, name="reactivator-send-loop", daemon=True).start()
        await asyncio.to_thread(self._ready.wait)
        return done

    def wake(self) -> None:
        """Send now: a pass queued letters (safe from any thread)."""
        self._call(lambda: self._wake.set() if self._wake else None)

    def stop(self) -> None:
        """Claim nothing more; letters in flight finish (safe from any thread, at any time)."""
        self._stop_asked.set()  # seen by a loop that is not running yet

        def stop() -> None:
            if self._stop and self._wake:
                self._stop.set()
                self._wake.set()

        self._call(stop)

    def cancel(self) -> None:
        """Stop at once; the letters held are given back (safe from any thread)."""
        self._call(lambda: self._task.cancel() if self._task else None)

    def _call(self, fn: Callable[[], Any]) -> None:
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # its loop has already closed
                self._loop.call_soon_threadsafe(fn)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._stop, self._wake = asyncio.Event(), asyncio.Event()
        self._ready.set()
        if self._stop_asked.is_set():
            self._stop.set()
        poll = self.app.settings.daemon.poll_seconds
        mailer = build_mailer(self.app.settings)
        # Kept across rounds: starting render processes costs about a second.
        renderer = render_processes(self.app, self.composer)
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    report = await send_due(
                        self.app,
                        mailer,
                        self.clock(),
                        worker=self.worker,
                        composer=self.composer,
                        stop=self._stop,
                        clock=self.clock,
                        renderer=renderer,
                    )
                    self.on_round(report)
                except Exception as exc:  # the letters held were given back: try again later
                    known = isinstance(exc, ReactivatorError)
                    log.error(
                        "sending stopped on an error, trying again in %gs: %s", poll, exc, exc_info=not known
                    )
                    await asyncio.to_thread(self.on_error, exc)
                finally:
                    await mailer.close()  # idle sessions are not kept open between rounds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), poll)
        finally:
            await mailer.close()
            if renderer is not None:
                await asyncio.to_thread(renderer.close)
