"""The sending policy for one letter: the last check before it goes, and what a refusal leads to.

Pure: the state of the letter, the refusal and `now` in, a typed outcome out.
The service applies the outcome (records it, suppresses, pauses a domain).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from reactivator.core.model import EnrollmentStatus, LetterStatus, QuietHours, Subscription
from reactivator.core.quiet_hours import in_quiet_hours, quiet_ends_at
from reactivator.core.refusals import Refusal


class OutcomeKind(StrEnum):
    """What became of one letter in a send run (the send report counts these)."""

    SENT = "sent"
    CANCELLED = "cancelled"  # no longer wanted: a purchase, an unsubscribe, a bounce...
    FAILED = "failed"  # will never go: refused for good, or cannot be built
    BOUNCED = "bounced"  # the address does not exist: failed, and the address suppressed
    EXPIRED = "expired"  # kept failing for longer than the retry lifetime
    DEFERRED = "deferred"  # back to the queue, to be tried again from `until`
    LEASE_LOST = "lease_lost"  # sent after another worker had taken it over


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: OutcomeKind
    reason: str = ""
    until: datetime | None = None  # DEFERRED: when to try again
    pause_domain_until: datetime | None = None  # a policy refusal: no letter to the domain until then


@dataclass(frozen=True, slots=True)
class LetterState:
    """What may have changed about a letter since it was queued, read right before it goes."""

    letter: LetterStatus
    subscription: Subscription
    enrollment: EnrollmentStatus
    has_email: bool


@dataclass(frozen=True, slots=True)
class DeliveryRules:
    retry_lifetime: timedelta
    domain_pause: timedelta
    backoff: Callable[[int], timedelta]  # attempts so far -> wait before the next


# A letter of an exhausted enrollment may still go: its last step was queued as the ladder ended.
_SENDABLE_ENROLLMENTS = (EnrollmentStatus.ACTIVE, EnrollmentStatus.EXHAUSTED)


def why_not_send(state: LetterState) -> str | None:
    """Why a claimed letter must not go out after all (checked right before sending)."""
    if state.letter is not LetterStatus.QUEUED:
        return f"letter is {state.letter.value}"
    if state.subscription is not Subscription.SUBSCRIBED:
        return f"customer {state.subscription.value}"
    if state.enrollment not in _SENDABLE_ENROLLMENTS:
        return f"enrollment {state.enrollment.value}"
    if not state.has_email:
        return "no email address"
    return None


def before_sending(
    state: LetterState, zone: str, quiet_hours: QuietHours | None, now: datetime
) -> Outcome | None:
    """None when the letter may go now; otherwise it is cancelled, or deferred until morning."""
    reason = why_not_send(state)
    if reason is not None:
        return Outcome(OutcomeKind.CANCELLED, reason)
    if quiet_hours is not None and in_quiet_hours(now, zone, quiet_hours):
        return Outcome(OutcomeKind.DEFERRED, "quiet hours", until=quiet_ends_at(now, zone, quiet_hours))
    return None


def after_refusal(
    refusal: Refusal, message: str, *, attempts: int, queued_at: datetime, now: datetime, rules: DeliveryRules
) -> Outcome:
    """What a refusal leads to.

    A bad mailbox is suppressed and ends the customer's ladder; a policy refusal pauses
    the whole domain, without blaming the customer, and the letter waits for the pause
    to end; a permanent refusal fails the letter; a temporary one is retried with
    growing delays until the retry lifetime has passed since the letter was queued.
    """
    if refusal is Refusal.BAD_MAILBOX:
        return Outcome(OutcomeKind.BOUNCED, f"bounced: {message}")
    if refusal is Refusal.POLICY:
        until = now + rules.domain_pause
        return Outcome(OutcomeKind.DEFERRED, message, until=until, pause_domain_until=until)
    if refusal is Refusal.PERMANENT:
        return Outcome(OutcomeKind.FAILED, message)
    retry_at = now + rules.backoff(attempts)
    if retry_at > queued_at + rules.retry_lifetime:
        return Outcome(OutcomeKind.EXPIRED, f"gave up after {attempts} attempts: {message}")
    return Outcome(OutcomeKind.DEFERRED, message, until=retry_at)
