"""The one intake for what comes back: each event, from a mailbox or an ESP's webhook, is
stored once and acted on once.

- a hard bounce suppresses the address;
- a soft bounce is counted, and suppresses only when it keeps coming
  (`[feedback] soft_bounce_limit` over `soft_bounce_days`, no delivery between);
- a policy refusal never blames the recipient: it is counted, logged as an
  ALERT and pauses the receiving domain, as a 5.7.x reply during the send does;
- a complaint unsubscribes the person and counts against the letter's step
  (the complaint brake, service/complaint_brake.py, may stop the step);
- a mail to the unsubscribe address unsubscribes the customer its token names;
- a reply stops the customer's ladder and is kept for a person to answer;
- deliveries, deferrals and auto-replies are counted and change nothing else.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email

from reactivator.core.feedback import FeedbackEvent, FeedbackKind
from reactivator.core.model import EnrollmentStatus, Subscription
from reactivator.core.routes import UNSUBSCRIBE
from reactivator.db import feedback as repo
from reactivator.db.customers import end_enrollments, find_customer, set_subscription, suppress
from reactivator.db.letters import pause_domain
from reactivator.errors import InputError
from reactivator.render.links import Tokens
from reactivator.service.app import App
from reactivator.service.complaint_brake import check_brakes
from reactivator.service.letters import signing_keys

if TYPE_CHECKING:
    from sqlalchemy import Connection

log = logging.getLogger(__name__)


@dataclass
class IntakeReport:
    """What one read of a mailbox (or one webhook call) did."""

    messages: int = 0  # messages read (mailbox) or events received (webhook)
    events: Counter[str] = field(default_factory=Counter)  # new events, by kind
    repeated: int = 0  # events seen before: changed nothing
    unknown: int = 0  # events about no letter or customer of ours
    suppressed: list[str] = field(default_factory=list)  # addresses that will not be mailed again
    unsubscribed: int = 0
    replies: int = 0
    stopped_steps: list[str] = field(default_factory=list)

    def add(self, other: IntakeReport) -> None:
        self.messages += other.messages
        self.events.update(other.events)
        self.repeated += other.repeated
        self.unknown += other.unknown
        self.suppressed += other.suppressed
        self.unsubscribed += other.unsubscribed
        self.replies += other.replies
        self.stopped_steps += [s for s in other.stopped_steps if s not in self.stopped_steps]


@dataclass
class Intake:
    app: App
    tokens: Tokens

    @classmethod
    def start(cls, app: App, now: datetime) -> Intake:
        return cls(app, Tokens(signing_keys(app, now)))

    def unsubscribe_addresses(self) -> list[str]:
        sender = self.app.settings.sender
        return [sender.unsubscribe_email or "unsubscribe@" + sender.from_email.rsplit("@", 1)[1]]

    def apply(self, events: Iterable[FeedbackEvent], now: datetime, report: IntakeReport) -> None:
        """Act on each event once (each in its own transaction: a bad one loses nothing else)."""
        complained_steps: set[str] = set()
        for event in events:
            with self.app.db.write() as conn:
                step = self._apply_one(conn, event, now, report)
            if event.kind is FeedbackKind.COMPLAINT and step:
                complained_steps.add(step)
        if complained_steps:
            report.stopped_steps += check_brakes(self.app, sorted(complained_steps), now)

    def _apply_one(self, conn: Connection, event: FeedbackEvent, now: datetime, report: IntakeReport) -> str:
        letter, customer_id = self._whose(conn, event)
        if customer_id is None and letter is None and not event.recipient:
            report.unknown += 1
            return ""
        if letter is None and customer_id is not None:
            letter = repo.latest_letter_to(conn, customer_id)
        domain = event.recipient.rpartition("@")[2] or None
        stored = repo.record_event(
            conn,
            {
                "key": f"{event.source}:{event.key}",
                "source": event.source,
                "kind": event.kind.value,
                "reason": event.reason[:64],
                "customer_id": customer_id,
                "letter_id": letter.letter_id if letter else None,
                "campaign": letter.campaign if letter else None,
                "step_key": letter.step_key if letter else None,
                "domain": domain,
                "detail": (event.text[:300] if event.kind is FeedbackKind.REPLY else event.detail[:1000])
                or None,
                "occurred_at": event.occurred_at or now,
                "received_at": now,
            },
        )
        if not stored:
            report.repeated += 1
            return ""
        report.events[event.kind.value] += 1
        if customer_id is None:
            report.unknown += 1
        self._act(conn, event, customer_id, letter, now, report)
        return letter.step_key if letter else ""

    def _whose(self, conn: Connection, event: FeedbackEvent) -> tuple[repo.LetterFacts | None, int | None]:
        """The letter and the customer an event is about, from the surest clue it carries."""
        if event.kind is FeedbackKind.UNSUBSCRIBE and event.token:
            try:
                found = self.tokens.read_customer(UNSUBSCRIBE, event.token)
            except InputError:
                found = None
            if found is not None:
                return repo.letter_facts(conn, found.letter_id), found.customer_id
        letter_id = event.letter_id
        if letter_id is None and event.message_id:
            letter_id = repo.letter_by_message_id(conn, event.message_id)
        letter = repo.letter_facts(conn, letter_id) if letter_id is not None else None
        if letter is not None:
            return letter, letter.customer_id
        if event.recipient:
            customer = find_customer(conn, _key(event.recipient) or event.recipient)
            if customer is not None:
                return None, customer.id
        return None, None

    def _act(
        self,
        conn: Connection,
        event: FeedbackEvent,
        customer_id: int | None,
        letter: repo.LetterFacts | None,
        now: datetime,
        report: IntakeReport,
    ) -> None:
        kind = event.kind
        if kind is FeedbackKind.HARD_BOUNCE:
            self._suppress(
                conn, event, customer_id, Subscription.BOUNCED, f"bounced: {event.reason}", now, report
            )
        elif _repeats_count(event) and customer_id is not None:
            count, first = repo.soft_bounces(conn, customer_id)
            rules = self.app.settings.feedback
            if (
                count >= rules.soft_bounce_limit
                and first
                and now - first >= timedelta(days=rules.soft_bounce_days)
            ):
                why = f"bounced: {count} soft bounces over {(now - first).days} days ({event.reason})"
                self._suppress(conn, event, customer_id, Subscription.BOUNCED, why, now, report)
        elif kind is FeedbackKind.POLICY:
            if event.reason == "filtered":
                return  # one person's filter (or an address gone unnoticed): counted, the domain not paused
            minutes = self.app.settings.delivery.domain_pause_minutes
            domain = event.recipient.rpartition("@")[2]
            if domain:
                pause_domain(
                    conn, domain, now + timedelta(minutes=minutes), f"refused by policy: {event.detail}"
                )
            log.warning(
                "ALERT: %s refused a letter by policy (%s: %s); sending to it is paused for %g minutes",
                domain or "a receiver",
                event.reason,
                event.detail[:200],
                minutes,
            )
        elif kind is FeedbackKind.COMPLAINT:
            why = f"complained ({event.reason or 'abuse'})"
            self._suppress(conn, event, customer_id, Subscription.UNSUBSCRIBED, why, now, report)
        elif kind is FeedbackKind.UNSUBSCRIBE and customer_id is not None:
            if set_subscription(conn, customer_id, Subscription.UNSUBSCRIBED, now, "unsubscribed by mail"):
                report.unsubscribed += 1
        elif kind is FeedbackKind.REPLY and customer_id is not None:
            repo.add_reply(
                conn, customer_id, letter.letter_id if letter else None, event.subject, event.text, now
            )
            end_enrollments(conn, customer_id, now, EnrollmentStatus.CANCELLED, "replied")
            report.replies += 1

    def _suppress(
        self,
        conn: Connection,
        event: FeedbackEvent,
        customer_id: int | None,
        state: Subscription,
        why: str,
        now: datetime,
        report: IntakeReport,
    ) -> None:
        key = _key(event.recipient)
        if customer_id is not None:
            set_subscription(conn, customer_id, state, now, why)
        if key:
            suppress(conn, [key], state.value, now)
            report.suppressed.append(key)
        if state is Subscription.UNSUBSCRIBED and customer_id is not None:
            report.unsubscribed += 1


def _repeats_count(event: FeedbackEvent) -> bool:
    """Refusals that suppress only when they keep coming: soft bounces, and "filtered" refusals
    (a receiver's filter, or a dead address a report did not name as such)."""
    return event.kind is FeedbackKind.SOFT_BOUNCE or (
        event.kind is FeedbackKind.POLICY and event.reason == "filtered"
    )


def _key(address: str) -> str | None:
    """The address as customers are keyed (lower-cased, normalised), or None if it is no address."""
    if not address:
        return None
    try:
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None
