"""Hand queued letters to a mailer: claim, check again, build, send, record.

The outbox is a ledger. Letters are claimed in batches with a lease, then
sent by `pool_size` concurrent workers; each result is recorded the moment
the server answers, so after a crash a letter can go out twice only if it
was already handed over and not yet recorded: at most one per connection,
and with its original Message-ID. Every letter ends as sent, failed,
expired or cancelled, with the reason.

What a refusal means (mature MTAs' rules): 4xx replies and broken sessions
are retried with growing, jittered delays until `retry_lifetime_hours`, then
the letter expires; 5.1.x (no such mailbox) suppresses the address and ends
the customer's ladder; 5.7.x (policy) pauses the whole domain and alerts,
without blaming the customer; any other 5xx fails the letter.

Only the SMTP conversation runs on the event loop. Reading the database,
building the letter and recording the result run on worker threads, so a
daemon's web endpoints on the same loop keep answering while a batch goes
out. A run that is cancelled (a second Ctrl+C, or the shutdown grace ran out)
waits for the results being recorded, then gives back every letter it still
holds: a letter can repeat only if it was on the wire.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

from tenacity import RetryCallState, wait_exponential_jitter

from reactivator.core.model import EnrollmentStatus, LetterStatus, Subscription
from reactivator.core.ports import Mailer
from reactivator.core.quiet_hours import in_quiet_hours, quiet_ends_at
from reactivator.core.records import ClaimedLetter
from reactivator.db import outbox
from reactivator.db.customers import set_subscription
from reactivator.errors import DeliveryError
from reactivator.render.composer import LetterBuilder
from reactivator.service.app import App
from reactivator.service.letters import checked_composer
from reactivator.smtp.dkim_signing import dkim_signer
from reactivator.smtp.pool import SmtpPool
from reactivator.smtp.throttle import Throttle

log = logging.getLogger("reactivator.delivery")
T = TypeVar("T")

# 1, 2, 4, 8 ... minutes (plus up to a minute of jitter), at most 6 hours apart.
_BACKOFF = wait_exponential_jitter(multiplier=60, max=6 * 3600, jitter=60)


@dataclass
class SendReport:
    sent: int = 0
    cancelled: int = 0
    failed: int = 0
    bounced: int = 0
    expired: int = 0
    deferred: int = 0
    lease_lost: int = 0

    def add(self, other: SendReport) -> None:
        for name in vars(other):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def letters(self) -> int:
        """Letters this run dealt with, whatever became of them."""
        return sum(vars(self).values())


@functools.cache
def worker_name() -> str:
    """This process's name in the ledger (letters.leased_by): host, pid and a random tag.

    The tag keeps two processes apart that share host name and pid (containers: pid 1).
    """
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def retry_delay(attempt: int) -> timedelta:
    """How long to wait before attempt `attempt + 1` of a letter (tenacity's exponential jitter)."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = max(1, attempt)
    return timedelta(seconds=_BACKOFF(state))


def _still_wanted(letter: ClaimedLetter) -> str | None:
    """Why a claimed letter must not go out after all (checked right before sending)."""
    if letter.letter_status is not LetterStatus.QUEUED:
        return f"letter is {letter.letter_status.value}"
    if letter.subscription is not Subscription.SUBSCRIBED:
        return f"customer {letter.subscription.value}"
    if letter.enrollment_status not in (EnrollmentStatus.ACTIVE, EnrollmentStatus.EXHAUSTED):
        return f"enrollment {letter.enrollment_status.value}"
    if not letter.email:
        return "no email address"
    return None


def _fields(run: _Run, letter: ClaimedLetter, **more: Any) -> dict[str, Any]:
    """What a log line says about a letter: never its address, body or links."""
    return {
        "campaign": run.app.campaign,
        "step": letter.step_key,
        "customer": letter.customer_external_id,
        "message_id": letter.message_id,
        **more,
    }


@dataclass(frozen=True, slots=True)
class _Ready:
    """A letter that passed its last checks and is built: it only has to be handed over."""

    letter: ClaimedLetter
    message: EmailMessage
    domain: str


@dataclass
class _Run:
    """One send_due call: what every worker shares."""

    app: App
    composer: LetterBuilder
    mailer: Mailer
    now: datetime
    worker: str
    throttle: Throttle
    report: SendReport
    threads: ThreadPoolExecutor
    # Letters the server has answered for and whose result is not recorded yet.
    answered: set[int] = field(default_factory=set)

    @property
    def return_path(self) -> str | None:
        return self.app.settings.delivery.return_path or None

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (database, rendering) on a worker thread."""
        return await asyncio.wrap_future(self.threads.submit(fn, *args))

    async def record(self, letter: ClaimedLetter, fn: Callable[..., str], *args: Any) -> str:
        """Record what the server answered for `letter`, on a worker thread.

        Shielded: a run cancelled meanwhile still records it (a cancelled wait would
        cancel the queued work too, and a delivered letter would be given back).
        """
        self.answered.add(letter.letter_id)
        outcome = await asyncio.shield(asyncio.wrap_future(self.threads.submit(fn, self, letter, *args)))
        self.answered.discard(letter.letter_id)
        return outcome


async def send_due(
    app: App,
    mailer: Mailer,
    now: datetime,
    worker: str | None = None,
    composer: LetterBuilder | None = None,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SendReport:
    """Send every letter due at `now`, batch by batch, until none is left to claim.

    The templates are checked first: with a template that fails the check,
    TemplateError is raised before a single letter is claimed. Setting `stop`
    ends the run early: no more claims, letters in flight finish, the rest of
    the batch is given back. With a `clock`, each batch is claimed at the
    clock's time instead of `now` (a daemon's long drain).
    """
    pool_size = app.settings.smtp.pool_size
    run = _Run(
        app=app,
        composer=composer or checked_composer(app, now),
        mailer=mailer,
        now=now,
        worker=worker or worker_name(),
        throttle=Throttle(app.settings.delivery),
        report=SendReport(),
        threads=ThreadPoolExecutor(app.settings.sending.threads, thread_name_prefix="reactivator-send"),
    )
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
                asyncio.create_task(_work(run, pending, stop)) for _ in range(min(pool_size, len(ids)))
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
        # cancelled), then give back every letter still held, so that another sender can take
        # them at once; except a letter the server answered whose result could not be
        # recorded: it keeps its lease, and is retried only when that runs out.
        run.threads.shutdown(wait=True)
        with app.db.write() as conn:
            outbox.release_all(conn, run.worker, keep=run.answered)
        raise
    finally:
        run.threads.shutdown(wait=True)
    return run.report


async def send_over_smtp(
    app: App,
    now: datetime,
    composer: LetterBuilder | None = None,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SendReport:
    """send_due through the configured SMTP server's connection pool."""
    mailer = smtp_mailer(app)
    try:
        return await send_due(app, mailer, now, composer=composer, stop=stop, clock=clock)
    finally:
        await mailer.close()


def smtp_mailer(app: App) -> SmtpPool:
    """The configured SMTP server's connection pool, signing with DKIM when configured."""
    return SmtpPool(app.settings.smtp, app.settings.sender.from_email, dkim_signer(app.settings.dkim))


def _claim(run: _Run) -> list[int]:
    sending = run.app.settings.sending
    lease = timedelta(seconds=sending.lease_seconds)
    with run.app.db.write() as conn:
        ids = outbox.claim(conn, run.now, sending.batch_size, lease, run.worker)
        pauses = outbox.active_pauses(conn, run.now) if ids else {}
    for domain, until in pauses.items():  # pauses set by any sender of the fleet
        run.throttle.pause(domain, (until - run.now).total_seconds())
    return ids


def _load(run: _Run, ids: list[int]) -> list[ClaimedLetter]:
    with run.app.db.read() as conn:
        return outbox.load(conn, ids)


def _release(run: _Run, ids: list[int]) -> None:
    with run.app.db.write() as conn:
        outbox.release(conn, ids, run.worker)


async def _work(run: _Run, pending: list[ClaimedLetter], stop: asyncio.Event) -> None:
    """One of `pool_size` workers: take the next letter of the batch until none is left."""
    while pending and not stop.is_set():
        await _send_one(run, pending.pop())


async def _send_one(run: _Run, letter: ClaimedLetter) -> None:
    ready = await run.off_loop(_prepare, run, letter)
    if not isinstance(ready, _Ready):
        _count(run, ready)
        return
    letter, domain = ready.letter, ready.domain
    paused = run.throttle.paused_for(domain)
    if paused:
        why = f"sending to {domain} is paused"
        _count(run, await run.off_loop(_defer, run, letter, run.now + timedelta(seconds=paused), why))
        return
    assert letter.email is not None
    try:
        async with run.throttle.slot(domain):
            await run.mailer.send(ready.message, letter.email, _return_path(run, letter))
    except DeliveryError as exc:
        if exc.policy_rejection:
            run.throttle.pause(domain, run.app.settings.delivery.domain_pause_minutes * 60)
        _count(run, await run.record(letter, _refused, domain, exc))
        return
    _count(run, await run.record(letter, _sent))


def _prepare(run: _Run, letter: ClaimedLetter) -> _Ready | str:
    """Check the letter once more and build it; or end or defer it, and say which."""
    app = run.app
    # Read what may have changed since the batch was loaded: a purchase or an
    # unsubscribe may have landed while earlier letters of the batch went out.
    with app.db.read() as conn:
        status, subscription, enrollment, has_email = outbox.current_state(conn, letter.letter_id)
    letter = replace(
        letter,
        letter_status=status,
        subscription=subscription,
        enrollment_status=enrollment,
        email=letter.email if has_email else None,
    )
    reason = _still_wanted(letter)
    if reason is not None:
        return _record(run, letter, LetterStatus.CANCELLED, reason)
    zone = letter.timezone or app.policy.default_timezone
    window = app.policy.quiet_hours
    if window is not None and in_quiet_hours(run.now, zone, window):
        return _defer(run, letter, quiet_ends_at(run.now, zone, window), "quiet hours")
    if letter.step_key not in run.composer.step_keys:
        gone = f"step {letter.step_key!r} is no longer in the campaign's ladder"
        return _record(run, letter, LetterStatus.FAILED, gone)
    try:
        message = run.composer.compose(letter, run.now).message
    except Exception as exc:
        return _record(run, letter, LetterStatus.FAILED, f"could not build the letter: {exc}")
    assert letter.email is not None
    return _Ready(letter, message, letter.email.rpartition("@")[2].lower())


def _sent(run: _Run, letter: ClaimedLetter) -> str:
    with run.app.db.write() as conn:
        kept_lease = outbox.mark_sent(conn, letter.letter_id, run.worker, run.now)
    if kept_lease:
        log.info("letter sent", extra=_fields(run, letter, attempt=letter.attempts))
        return "sent"
    # Another sender took the letter over after our lease ran out: it may go twice,
    # with the same Message-ID. Count it apart so the operator sees it.
    log.warning("letter sent after its lease ran out; it may go twice", extra=_fields(run, letter))
    return "lease_lost"


def _count(run: _Run, outcome: str) -> None:
    setattr(run.report, outcome, getattr(run.report, outcome) + 1)


def _return_path(run: _Run, letter: ClaimedLetter) -> str | None:
    path = run.return_path
    if path and "{token}" in path:
        return path.replace("{token}", f"{letter.letter_id}")
    return path


def _refused(run: _Run, letter: ClaimedLetter, domain: str, exc: DeliveryError) -> str:
    smtp = run.app.settings.delivery
    if exc.bad_mailbox:
        with run.app.db.write() as conn:
            outbox.mark_failed(conn, letter.letter_id, run.worker, f"bounced: {exc}")
            why = f"bounced: {exc.status}"
            set_subscription(conn, letter.customer_id, Subscription.BOUNCED, run.now, why)
        log.info("letter bounced; address suppressed", extra=_fields(run, letter, status=exc.status))
        return "bounced"
    if exc.policy_rejection:
        until = run.now + timedelta(minutes=smtp.domain_pause_minutes)
        with run.app.db.write() as conn:
            outbox.pause_domain(conn, domain, until, str(exc))
        log.warning(
            "ALERT: %s refused a letter by policy (%s); sending to %s is paused for %g minutes",
            domain,
            exc,
            domain,
            smtp.domain_pause_minutes,
            extra=_fields(run, letter, domain=domain, status=exc.status),
        )
        return _defer(run, letter, until, str(exc))
    if exc.permanent:
        return _record(run, letter, LetterStatus.FAILED, str(exc))
    retry_at = run.now + retry_delay(letter.attempts)
    queued_at = letter.queued_at or run.now
    if retry_at > queued_at + timedelta(hours=smtp.retry_lifetime_hours):
        return _record(run, letter, LetterStatus.EXPIRED, f"gave up after {letter.attempts} attempts: {exc}")
    return _defer(run, letter, retry_at, str(exc))


def _record(run: _Run, letter: ClaimedLetter, status: LetterStatus, reason: str) -> str:
    with run.app.db.write() as conn:
        if status is LetterStatus.CANCELLED:
            outbox.mark_cancelled(conn, letter.letter_id, run.worker, reason)
        else:
            outbox.mark_failed(conn, letter.letter_id, run.worker, reason, status)
    level = logging.INFO if status is LetterStatus.CANCELLED else logging.WARNING
    log.log(level, "letter %s: %s", status.value, reason, extra=_fields(run, letter))
    return "failed" if status is LetterStatus.FAILED else status.value


def _defer(run: _Run, letter: ClaimedLetter, until: datetime, reason: str) -> str:
    with run.app.db.write() as conn:
        outbox.defer(conn, letter.letter_id, run.worker, until, reason)
    log.info("letter deferred: %s", reason, extra=_fields(run, letter, until=until.isoformat()))
    return "deferred"
