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
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tenacity import RetryCallState, wait_exponential_jitter

from reactivator.core.model import EnrollmentStatus, LetterStatus, Subscription
from reactivator.core.ports import Mailer
from reactivator.core.quiet_hours import in_quiet_hours, quiet_ends_at
from reactivator.core.records import ClaimedLetter
from reactivator.db import outbox
from reactivator.db.customers import set_subscription
from reactivator.errors import DeliveryError
from reactivator.render.composer import Composer
from reactivator.service.app import App
from reactivator.service.letters import checked_composer
from reactivator.smtp.dkim_signing import dkim_signer
from reactivator.smtp.pool import SmtpPool
from reactivator.smtp.throttle import Throttle

log = logging.getLogger("reactivator.delivery")

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


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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


@dataclass
class _Run:
    """One send_due call: what every worker shares."""

    app: App
    composer: Composer
    mailer: Mailer
    now: datetime
    worker: str
    throttle: Throttle
    report: SendReport

    @property
    def return_path(self) -> str | None:
        return self.app.settings.smtp.return_path or None


async def send_due(
    app: App,
    mailer: Mailer,
    now: datetime,
    worker: str | None = None,
    composer: Composer | None = None,
    stop: asyncio.Event | None = None,
) -> SendReport:
    """Send every letter due at `now`, batch by batch, until none is left to claim.

    The templates are checked first: with a template that fails the check,
    TemplateError is raised before a single letter is claimed. Setting `stop`
    ends the run early: no more claims, letters in flight finish, the rest of
    the batch is given back.
    """
    run = _Run(
        app=app,
        composer=composer or checked_composer(app, now),
        mailer=mailer,
        now=now,
        worker=worker or worker_name(),
        throttle=Throttle(app.settings.smtp),
        report=SendReport(),
    )
    stop = stop or asyncio.Event()
    sending = app.settings.sending
    lease = timedelta(seconds=sending.lease_seconds)
    while not stop.is_set():
        with app.db.write() as conn:
            ids = outbox.claim(conn, now, sending.batch_size, lease, run.worker)
        if not ids:
            break
        with app.db.read() as conn:
            pending = list(reversed(outbox.load(conn, ids)))
        workers = min(app.settings.smtp.pool_size, len(ids))
        await asyncio.gather(*(_work(run, pending, stop) for _ in range(workers)))
        if pending:  # stopped: give the untouched letters back at once, not after the lease
            with app.db.write() as conn:
                outbox.release(conn, [letter.letter_id for letter in pending], run.worker)
    return run.report


async def send_over_smtp(
    app: App, now: datetime, composer: Composer | None = None, stop: asyncio.Event | None = None
) -> SendReport:
    """send_due through the configured SMTP server's connection pool."""
    mailer = SmtpPool(app.settings.smtp, app.settings.sender.from_email, dkim_signer(app.settings.dkim))
    try:
        return await send_due(app, mailer, now, composer=composer, stop=stop)
    finally:
        await mailer.close()


async def _work(run: _Run, pending: list[ClaimedLetter], stop: asyncio.Event) -> None:
    """One of `pool_size` workers: take the next letter of the batch until none is left."""
    while pending and not stop.is_set():
        await _send_one(run, pending.pop())


async def _send_one(run: _Run, letter: ClaimedLetter) -> None:
    app, report = run.app, run.report
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
        _record(run, letter, LetterStatus.CANCELLED, reason)
        return
    zone = letter.timezone or app.policy.default_timezone
    window = app.policy.quiet_hours
    if window is not None and in_quiet_hours(run.now, zone, window):
        _defer(run, letter, quiet_ends_at(run.now, zone, window), "quiet hours")
        return
    if letter.step_key not in run.composer.step_keys:
        gone = f"step {letter.step_key!r} is no longer in the campaign's ladder"
        _record(run, letter, LetterStatus.FAILED, gone)
        return
    try:
        message = run.composer.compose(letter, run.now).message
    except Exception as exc:
        _record(run, letter, LetterStatus.FAILED, f"could not build the letter: {exc}")
        return
    assert letter.email is not None
    domain = letter.email.rpartition("@")[2].lower()
    paused = run.throttle.paused_for(domain)
    if paused:
        _defer(run, letter, run.now + timedelta(seconds=paused), f"sending to {domain} is paused")
        return
    try:
        async with run.throttle.slot(domain):
            await run.mailer.send(message, letter.email, _return_path(run, letter))
    except DeliveryError as exc:
        _refused(run, letter, domain, exc)
        return
    with app.db.write() as conn:
        kept_lease = outbox.mark_sent(conn, letter.letter_id, run.worker, run.now)
    if kept_lease:
        report.sent += 1
    else:
        # Another sender took the letter over after our lease ran out: it may go twice,
        # with the same Message-ID. Count it apart so the operator sees it.
        report.lease_lost += 1


def _return_path(run: _Run, letter: ClaimedLetter) -> str | None:
    path = run.return_path
    if path and "{token}" in path:
        return path.replace("{token}", f"{letter.letter_id}")
    return path


def _refused(run: _Run, letter: ClaimedLetter, domain: str, exc: DeliveryError) -> None:
    smtp = run.app.settings.smtp
    if exc.bad_mailbox:
        with run.app.db.write() as conn:
            outbox.mark_failed(conn, letter.letter_id, run.worker, f"bounced: {exc}")
            why = f"bounced: {exc.status}"
            set_subscription(conn, letter.customer_id, Subscription.BOUNCED, run.now, why)
        run.report.bounced += 1
    elif exc.policy_rejection:
        pause = smtp.domain_pause_minutes * 60
        run.throttle.pause(domain, pause)
        log.warning(
            "ALERT: %s refused a letter by policy (%s); sending to %s is paused for %d minutes",
            domain,
            exc,
            domain,
            smtp.domain_pause_minutes,
            extra={"message_id": letter.message_id, "domain": domain},
        )
        _defer(run, letter, run.now + timedelta(seconds=pause), str(exc))
    elif exc.permanent:
        _record(run, letter, LetterStatus.FAILED, str(exc))
    else:
        retry_at = run.now + retry_delay(letter.attempts)
        queued_at = letter.queued_at or run.now
        if retry_at > queued_at + timedelta(hours=smtp.retry_lifetime_hours):
            _record(run, letter, LetterStatus.EXPIRED, f"gave up after {letter.attempts} attempts: {exc}")
        else:
            _defer(run, letter, retry_at, str(exc))


def _record(run: _Run, letter: ClaimedLetter, status: LetterStatus, reason: str) -> None:
    with run.app.db.write() as conn:
        if status is LetterStatus.CANCELLED:
            outbox.mark_cancelled(conn, letter.letter_id, run.worker, reason)
        else:
            outbox.mark_failed(conn, letter.letter_id, run.worker, reason, status)
    if status is LetterStatus.CANCELLED:
        run.report.cancelled += 1
    elif status is LetterStatus.EXPIRED:
        run.report.expired += 1
    else:
        run.report.failed += 1


def _defer(run: _Run, letter: ClaimedLetter, until: datetime, reason: str) -> None:
    with run.app.db.write() as conn:
        outbox.defer(conn, letter.letter_id, run.worker, until, reason)
    run.report.deferred += 1
