"""Hand queued letters to a mailer: claim, check again, build, send, record."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from reactivator.core.model import EnrollmentStatus, LetterStatus, Subscription
from reactivator.core.ports import Mailer
from reactivator.core.quiet_hours import in_quiet_hours, quiet_ends_at
from reactivator.core.records import ClaimedLetter
from reactivator.db import outbox
from reactivator.errors import DeliveryError
from reactivator.render.composer import Composer
from reactivator.service.app import App
from reactivator.service.letters import checked_composer

RETRY_AFTER = timedelta(minutes=10)


@dataclass
class SendReport:
    sent: int = 0
    cancelled: int = 0
    failed: int = 0
    deferred: int = 0
    lease_lost: int = 0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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


async def send_due(
    app: App, mailer: Mailer, now: datetime, worker: str | None = None, composer: Composer | None = None
) -> SendReport:
    """Send every letter due at `now`, batch by batch, until none is left to claim.

    The templates are checked first: with a template that fails the check,
    TemplateError is raised before a single letter is claimed.
    """
    composer = composer or checked_composer(app, now)
    worker = worker or worker_name()
    report = SendReport()
    sending = app.settings.sending
    lease = timedelta(seconds=sending.lease_seconds)
    while True:
        with app.db.write() as conn:
            ids = outbox.claim(conn, now, sending.batch_size, lease, worker)
        if not ids:
            return report
        for letter_id in ids:
            await _send_one(app, composer, mailer, letter_id, now, worker, report)


async def _send_one(
    app: App,
    composer: Composer,
    mailer: Mailer,
    letter_id: int,
    now: datetime,
    worker: str,
    report: SendReport,
) -> None:
    # Read the letter, its customer and enrollment afresh: a purchase or an
    # unsubscribe may have landed while earlier letters of the batch went out.
    with app.db.read() as conn:
        (letter,) = outbox.load(conn, [letter_id])
    reason = _still_wanted(letter)
    if reason is not None:
        with app.db.write() as conn:
            outbox.mark_cancelled(conn, letter.letter_id, worker, reason)
        report.cancelled += 1
        return
    zone = letter.timezone or app.policy.default_timezone
    window = app.policy.quiet_hours
    if window is not None and in_quiet_hours(now, zone, window):
        with app.db.write() as conn:
            outbox.defer(conn, letter.letter_id, worker, quiet_ends_at(now, zone, window), "quiet hours")
        report.deferred += 1
        return
    if letter.step_key not in composer.step_keys:
        with app.db.write() as conn:
            reason = f"step {letter.step_key!r} is no longer in the campaign's ladder"
            outbox.mark_failed(conn, letter.letter_id, worker, reason)
        report.failed += 1
        return
    try:
        message = composer.compose(letter, now).message
    except Exception as exc:
        with app.db.write() as conn:
            outbox.mark_failed(conn, letter.letter_id, worker, f"could not build the letter: {exc}")
        report.failed += 1
        return
    assert letter.email is not None
    try:
        await mailer.send(message, letter.email)
    except DeliveryError as exc:
        with app.db.write() as conn:
            if exc.permanent:
                outbox.mark_failed(conn, letter.letter_id, worker, str(exc))
                report.failed += 1
            else:
                outbox.defer(conn, letter.letter_id, worker, now + RETRY_AFTER, str(exc))
                report.deferred += 1
        return
    with app.db.write() as conn:
        kept_lease = outbox.mark_sent(conn, letter.letter_id, worker, now)
    if kept_lease:
        report.sent += 1
    else:
        # Another sender took the letter over after our lease ran out: it may go twice,
        # with the same Message-ID. Count it apart so the operator sees it.
        report.lease_lost += 1
