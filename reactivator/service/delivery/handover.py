"""One letter: build it, check it one last time, hand it to the mailer, and record what became of it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from reactivator.core.delivery import Outcome, OutcomeKind, after_refusal, before_sending
from reactivator.core.model import LetterStatus, Subscription
from reactivator.core.ports import Outgoing
from reactivator.core.quiet_hours import in_quiet_hours
from reactivator.core.records import Letter
from reactivator.db import letters as letter_rows
from reactivator.db.coupons import take_codes
from reactivator.db.customers import set_subscription
from reactivator.errors import DeliveryError
from reactivator.service.delivery.run import DeliveryRun

if TYPE_CHECKING:
    from sqlalchemy import Connection

log = logging.getLogger("reactivator.delivery")


@dataclass(frozen=True, slots=True)
class _Ready:
    """A built letter: its bytes, or its message (its last check comes after)."""

    letter: Letter
    message: EmailMessage | None  # None when a render process built it: `data` holds its bytes
    domain: str
    data: bytes | None = None


def _fields(run: DeliveryRun, letter: Letter, **more: Any) -> dict[str, Any]:
    """What a log line says about a letter: never its address, body or links."""
    return {
        "campaign": run.app.campaign,
        "step": letter.step_key,
        "customer": letter.customer_external_id,
        "message_id": letter.message_id,
        **more,
    }


def _builds_first(run: DeliveryRun, letter: Letter) -> bool:
    """Whether a letter is built before its last check.

    Most are, so that the check is the last thing before the send (a letter the check
    then stops was built for nothing, which is rare). A letter that needs a code from the
    pool is built after its check, so that no code is taken for a letter that stays; one
    that must wait for the morning is not built at all.
    """
    zone = letter.timezone or run.app.policy.default_timezone
    quiet = run.app.policy.quiet_hours
    return not _needs_code(letter) and not (quiet is not None and in_quiet_hours(run.now, zone, quiet))


def build_ahead(run: DeliveryRun, letters: list[Letter]) -> None:
    """Start building these letters in the render processes, before a connection is free for them.

    Building is the render processes' work, and the connections wait on the database and
    the server in between: building ahead keeps the processes busy. Only the build is
    ahead; each letter's last check still comes right before its send.
    """
    if run.renderer is None or run.renderer.broken:
        return
    for letter in letters:
        if letter.letter_id not in run.ahead and _builds_first(run, letter):
            run.ahead[letter.letter_id] = asyncio.ensure_future(_built(run, letter))


# The recording of a letter the server has answered for: durable once it is done.
Recording = asyncio.Task[None]


async def hand_over(run: DeliveryRun, letter: Letter, last: Recording | None = None) -> Recording | None:
    """Build, check and send one letter; what the server answered is recorded by the returned task.

    `last` is the recording of this connection's previous letter: it has to be durable
    before this letter goes, so that a crash leaves at most one letter per connection
    sent and not recorded. Meanwhile this letter is built and checked: its check shares
    a transaction with that recording when they arrive together.
    """
    zone = letter.timezone or run.app.policy.default_timezone
    quiet = run.app.policy.quiet_hours
    built: _Ready | Outcome | None = None
    if letter.letter_id in run.ahead:
        built = await run.ahead.pop(letter.letter_id)
    elif _builds_first(run, letter):
        built = await _built(run, letter)
    state = await run.check(letter.letter_id)
    if last is not None:
        await last
    letter = replace(letter, email=letter.email if state.has_email else None)
    stopped = before_sending(state, zone, quiet, run.now)
    if stopped is None and letter.step_key not in run.composer.step_keys:
        gone = f"step {letter.step_key!r} is no longer in the campaign's ladder"
        stopped = Outcome(OutcomeKind.FAILED, gone)
    if stopped is None and built is None:
        built = await run.off_loop(_code_and_build, run, letter)
    if stopped is None and isinstance(built, Outcome):
        stopped = built
    if stopped is not None:
        await _record(run, letter, stopped, "")
        return None
    assert isinstance(built, _Ready)
    letter, domain = built.letter, built.domain
    paused = run.throttle.paused_for(domain)
    if paused:
        wait = Outcome(
            OutcomeKind.DEFERRED, f"sending to {domain} is paused", until=run.now + timedelta(seconds=paused)
        )
        await _record(run, letter, wait, domain)
        return None
    assert letter.email is not None
    outgoing = Outgoing(built.message, letter.email, _return_path(run, letter), built.data)
    try:
        async with run.throttle.slot(domain):
            await run.mailer.send(outgoing)
    except DeliveryError as exc:
        outcome = after_refusal(
            exc.reason,
            str(exc),
            attempts=letter.attempts,
            queued_at=letter.queued_at or run.now,
            now=run.now,
            rules=run.rules,
        )
        if outcome.pause_domain_until is not None:
            run.throttle.pause(domain, (outcome.pause_domain_until - run.now).total_seconds())
        write = _writer_of(run, letter, outcome, domain, exc)
        refused = run.submit(letter.letter_id, write)  # queued now, in this letter's turn
        return _recording(_reported(run, letter, domain, exc, refused))
    accepted = run.submit_sent(letter.letter_id)
    return _recording(_reported_sent(run, letter, domain, accepted))


def _recording(report: Coroutine[Any, Any, None]) -> Recording:
    task = asyncio.ensure_future(report)
    # Awaited by the connection's next letter, or at the end of its batch; if that never
    # comes (the run broke), the failure is the run's and must not be reported twice.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


async def _reported_sent(
    run: DeliveryRun, letter: Letter, domain: str, accepted: asyncio.Future[bool]
) -> None:
    recorded = await asyncio.shield(accepted)
    sent = Outcome(OutcomeKind.SENT if recorded else OutcomeKind.LEASE_LOST)
    _log(run, letter, sent, domain, None)
    run.report.count(sent.kind)


async def _reported(
    run: DeliveryRun,
    letter: Letter,
    domain: str,
    refusal: DeliveryError | None,
    recorded: asyncio.Future[Outcome],
) -> None:
    outcome = await asyncio.shield(recorded)
    _log(run, letter, outcome, domain, refusal)
    run.report.count(outcome.kind)


def _writer_of(
    run: DeliveryRun, letter: Letter, outcome: Outcome, domain: str, refusal: DeliveryError | None
) -> Callable[[Connection], Outcome]:
    return lambda conn: _write(conn, run, letter, outcome, domain, refusal)


async def _record(run: DeliveryRun, letter: Letter, outcome: Outcome, domain: str) -> None:
    """Record what became of a letter that did not go (the server never saw it), in the run's
    next group commit; then log and count it."""
    write = _writer_of(run, letter, outcome, domain, None)
    recorded = await run.record(letter.letter_id, write, answered=False)
    _log(run, letter, recorded, domain, None)
    run.report.count(recorded.kind)


def _needs_code(letter: Letter) -> bool:
    return letter.discount_percent > 0 and letter.coupon_code is None


async def _built(run: DeliveryRun, letter: Letter) -> _Ready | Outcome:
    """The letter built by the run's render processes, or on a worker thread without them."""
    if run.renderer is not None:
        composer, locale = run.composer.composer_for(letter)
        made = await run.renderer.build(composer, letter, run.now, locale)
        if isinstance(made, str):
            return Outcome(OutcomeKind.FAILED, made)
        if made is not None:
            assert letter.email is not None
            return _Ready(letter, None, letter.email.rpartition("@")[2].lower(), made)
    return await run.off_loop(_build, run, letter)


def _build(run: DeliveryRun, letter: Letter) -> _Ready | Outcome:
    """The finished letter, or why it could not be built."""
    try:
        message = run.composer.compose(letter, run.now).message
    except Exception as exc:
        return Outcome(OutcomeKind.FAILED, f"could not build the letter: {exc}")
    assert letter.email is not None
    return _Ready(letter, message, letter.email.rpartition("@")[2].lower())


def _code_and_build(run: DeliveryRun, letter: Letter) -> _Ready | Outcome:
    """A letter that waited for its check: its code from the pool if it needs one, then the letter."""
    if _needs_code(letter):
        letter, waiting = _code_from_pool(run, letter)
        if waiting is not None:
            return waiting
    return _build(run, letter)


POOL_RETRY = timedelta(hours=1)


def _code_from_pool(run: DeliveryRun, letter: Letter) -> tuple[Letter, Outcome | None]:
    """A letter of a pooled step that found the pool empty at its pass: a code now, or it waits.

    It never goes without its code: the discount it promises must work at the checkout.
    """
    with run.app.db.write() as conn:
        got = take_codes(conn, letter.step_key, [letter.letter_id], run.now)
    if letter.letter_id in got:
        return replace(letter, coupon_code=got[letter.letter_id]), None
    why = (
        f"the coupon pool of {letter.step_key} has no unused code; load more with "
        f"`reactivator import coupons FILE --step {letter.step_key}`"
    )
    return letter, Outcome(OutcomeKind.DEFERRED, why, until=run.now + POOL_RETRY)


def _return_path(run: DeliveryRun, letter: Letter) -> str | None:
    path = run.app.settings.delivery.return_path or None
    if path and "{token}" in path:
        return path.replace("{token}", f"{letter.letter_id}")
    return path


def _write(
    conn: Connection,
    run: DeliveryRun,
    letter: Letter,
    outcome: Outcome,
    domain: str,
    refusal: DeliveryError | None = None,
) -> Outcome:
    """The outcome and its consequences, written in the caller's transaction; the outcome as recorded."""
    kind, reason, worker = outcome.kind, outcome.reason, run.worker
    assert kind is not OutcomeKind.SENT  # recorded in bulk: DeliveryRun.submit_sent
    if kind is OutcomeKind.CANCELLED:
        letter_rows.mark_cancelled(conn, letter.letter_id, worker, reason)
    elif kind in (OutcomeKind.FAILED, OutcomeKind.EXPIRED, OutcomeKind.BOUNCED):
        status = LetterStatus.EXPIRED if kind is OutcomeKind.EXPIRED else LetterStatus.FAILED
        letter_rows.mark_failed(conn, letter.letter_id, worker, reason, status)
        if kind is OutcomeKind.BOUNCED:
            why = f"bounced: {refusal.summary if refusal else reason}"
            set_subscription(conn, letter.customer_id, Subscription.BOUNCED, run.now, why)
    else:
        assert outcome.until is not None
        if outcome.pause_domain_until is not None:
            letter_rows.pause_domain(conn, domain, outcome.pause_domain_until, reason)
        letter_rows.defer(conn, letter.letter_id, worker, outcome.until, reason)
    return outcome


def _log(
    run: DeliveryRun, letter: Letter, outcome: Outcome, domain: str, refusal: DeliveryError | None
) -> None:
    status = refusal.status if refusal else None
    match outcome.kind:
        case OutcomeKind.SENT:
            log.info("letter sent", extra=_fields(run, letter, attempt=letter.attempts))
        case OutcomeKind.LEASE_LOST:
            # Another worker took the letter over after our lease ran out: it may go twice,
            # with the same Message-ID. Counted apart so the operator sees it.
            log.warning("letter sent after its lease ran out; it may go twice", extra=_fields(run, letter))
        case OutcomeKind.BOUNCED:
            log.info("letter bounced; address suppressed", extra=_fields(run, letter, status=status))
        case OutcomeKind.CANCELLED:
            log.info("letter cancelled: %s", outcome.reason, extra=_fields(run, letter))
        case OutcomeKind.FAILED | OutcomeKind.EXPIRED:
            log.warning("letter %s: %s", outcome.kind.value, outcome.reason, extra=_fields(run, letter))
        case OutcomeKind.DEFERRED:
            if outcome.pause_domain_until is not None:
                minutes = run.rules.domain_pause.total_seconds() / 60
                log.warning(
                    "ALERT: %s refused a letter by policy (%s); sending to %s is paused for %g minutes",
                    domain,
                    outcome.reason,
                    domain,
                    minutes,
                    extra=_fields(run, letter, domain=domain, status=status),
                )
            assert outcome.until is not None
            until = outcome.until.isoformat()
            log.info("letter deferred: %s", outcome.reason, extra=_fields(run, letter, until=until))
