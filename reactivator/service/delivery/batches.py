"""`send_due`: claim due letters batch by batch, hand them over, give back what was not sent.

Only the conversation with the mail server runs on the event loop. The
database work runs on worker threads, and letters are built in render
processes (or on those threads without them), so a daemon's web endpoints
keep answering while a batch goes out.
A run that is cancelled (a second Ctrl+C, or the shutdown grace ran out)
waits for the results being recorded, then gives back every letter it still
holds: a letter can repeat only if it was on the wire.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from reactivator.config.links import links_problem
from reactivator.core.ports import Mailer
from reactivator.core.records import Letter
from reactivator.db import letters as letter_rows
from reactivator.errors import ConfigError
from reactivator.mail.factory import build_mailer
from reactivator.render.composer import LetterBuilder
from reactivator.render.processes import RenderProcesses, auto_processes
from reactivator.service.app import App
from reactivator.service.delivery.handover import Recording, build_ahead, hand_over
from reactivator.service.delivery.report import SendReport, worker_name
from reactivator.service.delivery.run import DeliveryRun
from reactivator.service.letters import checked_composer

log = logging.getLogger("reactivator.delivery")

# Letters built ahead of their turn, per render process: enough that a process always has
# the next one queued while the connections wait on the database and the server.
AHEAD_PER_PROCESS = 4


async def send_due(
    app: App,
    mailer: Mailer,
    now: datetime,
    worker: str | None = None,
    composer: LetterBuilder | None = None,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] | None = None,
    renderer: RenderProcesses | None = None,
) -> SendReport:
    """Send every letter due at `now`, batch by batch, until none is left to claim.

    The templates are checked first: with a template that fails the check,
    TemplateError is raised before a single letter is claimed. Setting `stop`
    ends the run early: no more claims, letters in flight finish, the rest of
    the batch is given back. With a `clock`, each batch is claimed at the
    clock's time instead of `now` (a daemon's long drain). With `renderer`, letters
    are built in its render processes.
    """
    composer = composer or checked_composer(app, now)
    run = DeliveryRun.start(app, composer, mailer, now, worker or worker_name(), renderer)
    stop = stop or asyncio.Event()
    try:
        while not stop.is_set():
            if clock is not None:
                run.now = clock()
            ids = await run.off_loop(_claim, run)
            if not ids:
                break
            pending = list(reversed(await run.off_loop(_load, run, ids)))
            workers = [
                asyncio.create_task(_work(run, pending, stop))
                for _ in range(min(mailer.concurrency, len(ids)))
            ]
            try:
                await asyncio.gather(*workers)
            except BaseException:
                # One worker failed, or the run is cancelled: stop the others before anything
                # is given back, so that no letter is released while it is on the wire.
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                raise
            if pending:  # stopped: give the untouched letters back at once, not after the lease
                await run.off_loop(_release, run, [letter.letter_id for letter in pending])
    except BaseException:
        # Cancelled (or broken): let the results being recorded land (recording is never
        # cancelled), then give back every letter still held, so that another worker can take
        # them at once; except a letter the server answered whose result could not be
        # recorded: it keeps its lease, and is retried only when that runs out.
        _drop_builds_ahead(run)
        run.threads.shutdown(wait=True)
        try:
            run.commit_waiting()  # results the server gave that no group commit took yet
        except Exception:  # not written: those letters keep their lease (run.answered), as below
            log.exception("could not record the last results of a stopped run")
        with app.db.write() as conn:
            letter_rows.release_all(conn, run.worker, keep=run.answered)
        raise
    finally:
        _drop_builds_ahead(run)
        run.threads.shutdown(wait=True)
    return run.report


def _drop_builds_ahead(run: DeliveryRun) -> None:
    """Letters given back: their builds ahead are of no use (and nobody reads their outcome)."""
    for build in run.ahead.values():
        build.cancel()
        build.add_done_callback(lambda b: b.cancelled() or b.exception())
    run.ahead.clear()


async def send_with_configured_mailer(
    app: App,
    now: datetime,
    composer: LetterBuilder | None = None,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SendReport:
    """send_due through the mailer the settings describe (the SMTP server, signed with DKIM if asked),
    with render processes if the settings and the machine's cores call for them."""
    problem = links_problem(app.settings)
    if problem:
        raise ConfigError([problem])
    composer = composer or checked_composer(app, now)
    mailer = build_mailer(app.settings)
    renderer = None
    try:
        renderer = render_processes(app, composer)
        return await send_due(app, mailer, now, composer=composer, stop=stop, clock=clock, renderer=renderer)
    finally:
        await mailer.close()
        if renderer is not None:
            await asyncio.to_thread(renderer.close)


def render_processes(app: App, composer: LetterBuilder) -> RenderProcesses | None:
    """Render processes for a send run, started now; None when letters are built in this process."""
    processes = auto_processes(app.settings.sending.render_processes)
    if processes == 0:
        return None
    renderer = RenderProcesses(app.settings, composer.tokens, processes)
    renderer.warm(composer.newest_composer())
    return renderer


def _claim(run: DeliveryRun) -> list[int]:
    sending = run.app.settings.sending
    lease = timedelta(seconds=sending.lease_seconds)
    with run.app.db.write() as conn:
        ids = letter_rows.claim(conn, run.now, sending.batch_size, lease, run.worker)
        pauses = letter_rows.active_pauses(conn, run.now) if ids else {}
    for domain, until in pauses.items():  # pauses set by any worker of the fleet
        run.throttle.pause(domain, (until - run.now).total_seconds())
    return ids


def _load(run: DeliveryRun, ids: list[int]) -> list[Letter]:
    with run.app.db.read() as conn:
        return letter_rows.load(conn, ids)


def _release(run: DeliveryRun, ids: list[int]) -> None:
    with run.app.db.write() as conn:
        letter_rows.release(conn, ids, run.worker)


async def _work(run: DeliveryRun, pending: list[Letter], stop: asyncio.Event) -> None:
    """One of the mailer's concurrent workers: take the next letter of the batch until none is left."""
    last: Recording | None = None  # the previous letter's result, being recorded
    while pending and not stop.is_set():
        letter = pending.pop()
        if run.renderer is not None:  # the next few, so that the render processes never wait
            build_ahead(run, pending[-AHEAD_PER_PROCESS * run.renderer.processes :])
        last = await hand_over(run, letter, last)
    if last is not None:
        await last
