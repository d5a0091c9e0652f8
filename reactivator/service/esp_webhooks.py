"""Event webhooks from the ESPs (Amazon SES through SNS, Postmark, SendGrid, Mailgun) into the
feedback intake. Each is off until its secret is in the environment; a call that does not
check out gets 401 and changes nothing; a redelivered event changes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

from reactivator.core.feedback import FeedbackEvent
from reactivator.errors import SignatureError
from reactivator.feedback.esp.mailgun import read_mailgun
from reactivator.feedback.esp.postmark import check_basic_auth, postmark_events
from reactivator.feedback.esp.sendgrid import public_key, sendgrid_events, verify
from reactivator.feedback.esp.ses import Fetch, SnsVerifier, fetch_https, read_sns
from reactivator.service.app import App
from reactivator.service.feedback_intake import Intake, IntakeReport

SES_TOPICS_ENV = "REACTIVATOR_SES_TOPIC_ARNS"
POSTMARK_PASSWORD_ENV = "REACTIVATOR_POSTMARK_WEBHOOK_PASSWORD"  # noqa: S105 (the variable's name)
SENDGRID_KEY_ENV = "REACTIVATOR_SENDGRID_WEBHOOK_KEY"
MAILGUN_KEY_ENV = "REACTIVATOR_MAILGUN_SIGNING_KEY"


def _secret(env: str) -> str:
    value = os.environ.get(env, "").strip()
    if not value:
        raise SignatureError(f"this webhook is off: set {env}")
    return value


class EspWebhooks:
    def __init__(self, app: App, fetch: Fetch = fetch_https) -> None:
        self.app = app
        self.fetch = fetch  # how SNS certificates are fetched (tests point it at a loopback server)
        self._sns: SnsVerifier | None = None

    def _apply(self, events: list[FeedbackEvent], now: datetime) -> dict[str, object]:
        report = IntakeReport(messages=len(events))
        Intake.start(self.app, now).apply(events, now, report)
        return {"events": dict(report.events), "repeated": report.repeated, "unknown": report.unknown}

    def ses(self, body: bytes, headers: dict[str, str], now: datetime) -> dict[str, object]:
        # Anyone can make an SNS topic and sign with SNS's key: only the shop's own topics count.
        topics = tuple(t.strip() for t in _secret(SES_TOPICS_ENV).split(",") if t.strip())
        if self._sns is None or self._sns.topics != topics:
            self._sns = SnsVerifier(self.fetch, topics)
        what, events = read_sns(body, self._sns)
        return {"sns": what, **self._apply(events, now)}

    def postmark(self, body: bytes, headers: dict[str, str], now: datetime) -> dict[str, object]:
        check_basic_auth(headers.get("authorization"), _secret(POSTMARK_PASSWORD_ENV))
        return self._apply(postmark_events(body), now)

    def sendgrid(self, body: bytes, headers: dict[str, str], now: datetime) -> dict[str, object]:
        verify(body, headers, public_key(_secret(SENDGRID_KEY_ENV), SENDGRID_KEY_ENV))
        return self._apply(sendgrid_events(body), now)

    def mailgun(self, body: bytes, headers: dict[str, str], now: datetime) -> dict[str, object]:
        return self._apply(read_mailgun(body, _secret(MAILGUN_KEY_ENV)), now)

    def routes(self) -> dict[str, Callable[[bytes, dict[str, str], datetime], dict[str, object]]]:
        return {
            "ses": self.ses,
            "postmark": self.postmark,
            "sendgrid": self.sendgrid,
            "mailgun": self.mailgun,
        }
