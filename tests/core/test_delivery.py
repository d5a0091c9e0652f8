"""The sending policy for one letter, without a database or a server."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from reactivator.core.delivery import (
    DeliveryRules,
    LetterState,
    Outcome,
    OutcomeKind,
    after_refusal,
    before_sending,
)
from reactivator.core.model import EnrollmentStatus, LetterStatus, QuietHours, Subscription
from reactivator.core.refusals import Refusal, enhanced_status, refusal_of_reply

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RULES = DeliveryRules(
    retry_lifetime=timedelta(hours=72),
    domain_pause=timedelta(minutes=30),
    backoff=lambda attempts: timedelta(minutes=2**attempts),
)
READY = LetterState(LetterStatus.QUEUED, Subscription.SUBSCRIBED, EnrollmentStatus.ACTIVE, True)


def refused(reason: Refusal, attempts: int = 1, queued_hours_ago: float = 1) -> Outcome:
    queued = NOW - timedelta(hours=queued_hours_ago)
    return after_refusal(reason, "the reply", attempts=attempts, queued_at=queued, now=NOW, rules=RULES)


def test_a_bad_mailbox_bounces_and_a_permanent_refusal_fails() -> None:
    assert refused(Refusal.BAD_MAILBOX).kind is OutcomeKind.BOUNCED
    assert refused(Refusal.PERMANENT).kind is OutcomeKind.FAILED


def test_a_policy_refusal_pauses_the_domain_and_waits_for_the_pause_to_end() -> None:
    outcome = refused(Refusal.POLICY)
    assert outcome.kind is OutcomeKind.DEFERRED
    assert outcome.until == outcome.pause_domain_until == NOW + timedelta(minutes=30)


def test_a_temporary_refusal_is_retried_on_the_schedule_until_the_lifetime_runs_out() -> None:
    soon = refused(Refusal.TEMPORARY, attempts=3)
    assert soon.kind is OutcomeKind.DEFERRED
    assert soon.until == NOW + timedelta(minutes=8)
    assert soon.pause_domain_until is None
    late = refused(Refusal.TEMPORARY, attempts=3, queued_hours_ago=71.9)
    assert late.kind is OutcomeKind.EXPIRED
    assert "3 attempts" in late.reason


@pytest.mark.parametrize(
    ("state", "why"),
    [
        (
            LetterState(LetterStatus.CANCELLED, Subscription.SUBSCRIBED, EnrollmentStatus.ACTIVE, True),
            "letter",
        ),
        (LetterState(LetterStatus.QUEUED, Subscription.BOUNCED, EnrollmentStatus.ACTIVE, True), "bounced"),
        (
            LetterState(LetterStatus.QUEUED, Subscription.SUBSCRIBED, EnrollmentStatus.RETURNED, True),
            "returned",
        ),
        (
            LetterState(LetterStatus.QUEUED, Subscription.SUBSCRIBED, EnrollmentStatus.ACTIVE, False),
            "address",
        ),
    ],
)
def test_a_letter_no_longer_wanted_is_cancelled_with_the_reason(state: LetterState, why: str) -> None:
    outcome = before_sending(state, "UTC", None, NOW)
    assert outcome is not None
    assert outcome.kind is OutcomeKind.CANCELLED
    assert why in outcome.reason


def test_a_letter_of_an_exhausted_enrollment_still_goes_and_quiet_hours_defer_it() -> None:
    exhausted = LetterState(LetterStatus.QUEUED, Subscription.SUBSCRIBED, EnrollmentStatus.EXHAUSTED, True)
    assert before_sending(exhausted, "UTC", None, NOW) is None
    night = QuietHours(time(21), time(9))
    outcome = before_sending(READY, "Asia/Tokyo", night, NOW)  # 21:00 in Tokyo
    assert outcome is not None
    assert outcome.kind is OutcomeKind.DEFERRED
    assert outcome.until == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo


@pytest.mark.parametrize(
    ("code", "text", "reason"),
    [
        (550, "5.1.1 no such user", Refusal.BAD_MAILBOX),
        (550, "5.7.1 blocked", Refusal.POLICY),
        (554, "transaction failed", Refusal.PERMANENT),
        (451, "4.3.0 later", Refusal.TEMPORARY),
        (421, "", Refusal.TEMPORARY),
    ],
)
def test_an_smtp_reply_reads_as_its_reason(code: int, text: str, reason: Refusal) -> None:
    assert refusal_of_reply(code, enhanced_status(text)) is reason
