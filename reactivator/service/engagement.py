"""What the web endpoints do: opens, clicks, unsubscribes, survey answers and purchase webhooks.

Every token is verified before anything is read or written; a token that is
forged, truncated, made for another purpose or points at no letter raises
InputError and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from reactivator.core.engagement import is_machine
from reactivator.core.locales import LOCALES
from reactivator.core.model import Subscription
from reactivator.core.routes import SURVEY, UNSUBSCRIBE, SignedRoute, survey_code, survey_reason
from reactivator.db import engagement as repo
from reactivator.db.customers import pause_customer, set_subscription
from reactivator.errors import InputError
from reactivator.render.catalog import survey_labels
from reactivator.render.links import Tokens
from reactivator.service.app import App
from reactivator.service.imports import FUTURE_SLACK, record_purchase
from reactivator.service.imports.rows import RowError, parse_order
from reactivator.service.letters import signing_keys

WEBHOOK_SECRET_ENV = "REACTIVATOR_WEBHOOK_SECRET"  # noqa: S105 (the variable's name, not a secret)
SIGNATURE_HEADER = "X-Reactivator-Signature"


class NotFound(InputError):
    """A well-formed request about something that does not exist (HTTP 404)."""


class Unauthorized(InputError):
    """A webhook without a valid signature (HTTP 401)."""


@dataclass(frozen=True)
class Visit:
    """Who is asking: enough to tell a person from an image proxy or a link scanner."""

    user_agent: str | None
    method: str
    now: datetime


@dataclass(frozen=True)
class Reader:
    locale: str
    subscribed: bool
    shop: str  # the shop's name in their language
    paused_until: datetime | None = None


PAUSE_DAYS = 91  # "pause for three months", offered beside unsubscribing


@dataclass
class Engagement:
    """The web side of one process: the app and its signing keys."""

    app: App
    tokens: Tokens

    @classmethod
    def start(cls, app: App, now: datetime) -> Engagement:
        return cls(app, Tokens(signing_keys(app, now)))

    def _machine(self, visit: Visit, ref: repo.LetterRef) -> bool:
        since = (visit.now - ref.sent_at).total_seconds() if ref.sent_at else None
        return is_machine(visit.user_agent, visit.method, since)

    def opened(self, token: str, visit: Visit) -> None:
        """Record an open from the pixel."""
        self._record(self.tokens.read_open(token), "open", None, visit)

    def clicked(self, token: str, visit: Visit) -> str:
        """Record a click; the destination, which only the signed token can name."""
        click = self.tokens.read_click(token)
        self._record(click.letter_id, "click", click.url, visit)
        return click.url

    def _record(self, letter_id: int, kind: str, url: str | None, visit: Visit) -> None:
        # One transaction for the lookup and the write: opens come in floods.
        with self.app.db.write() as conn:
            ref = repo.letter_ref(conn, letter_id)
            if ref is None:
                raise NotFound("no such letter")
            machine = self._machine(visit, ref)
            repo.record_engagement(
                conn, letter_id, ref.customer_id, kind, url, machine, visit.user_agent, visit.now
            )

    def _customer_of(self, token: str, route: SignedRoute) -> tuple[int, int, repo.LetterRef]:
        found = self.tokens.read_customer(route, token)
        with self.app.db.read() as conn:
            ref = repo.letter_ref(conn, found.letter_id)
        if ref is None or ref.customer_id != found.customer_id:
            raise NotFound("no such letter")
        return found.customer_id, found.letter_id, ref

    def check_unsubscribe(self, token: str) -> None:
        """Validate an unsubscribe token without acting on it (the GET confirmation page)."""
        self._customer_of(token, UNSUBSCRIBE)

    def reader(self, token: str, route: SignedRoute) -> Reader:
        """Who opened one of the letter's pages: their language, and whether they still get letters."""
        customer_id, _, _ = self._customer_of(token, route)
        with self.app.db.read() as conn:
            locale, subscription, paused_until = repo.reader_facts(conn, customer_id)
        shop = self.app.settings.shop
        language = locale if locale in LOCALES else shop.default_locale
        subscribed = subscription == Subscription.SUBSCRIBED.value
        return Reader(language, subscribed, shop.name_in(language), paused_until)

    def pause(self, token: str, now: datetime) -> datetime:
        """No letters for PAUSE_DAYS, then the ladder goes on; the end of the pause."""
        customer_id, _, _ = self._customer_of(token, UNSUBSCRIBE)
        until = now + timedelta(days=PAUSE_DAYS)
        with self.app.db.write() as conn:
            pause_customer(conn, customer_id, until, now)
        return until

    def survey_choices(self, token: str) -> tuple[Reader, list[tuple[str, str]]]:
        """The survey's answers for this reader: (link code, words), in their language."""
        reader = self.reader(token, SURVEY)
        labels = survey_labels(self.app.settings.templates.dir, reader.locale)
        reasons = self.app.settings.campaign.survey_reasons
        return reader, [(survey_code(r), labels.get(r, r.replace("-", " "))) for r in reasons]

    def unsubscribe(self, token: str, now: datetime) -> bool:
        """Opt the customer out at once; False if they already were."""
        customer_id, _, _ = self._customer_of(token, UNSUBSCRIBE)
        with self.app.db.write() as conn:
            return set_subscription(conn, customer_id, Subscription.UNSUBSCRIBED, now, "unsubscribed by link")

    def survey(self, token: str, reason: str, visit: Visit) -> bool:
        """Record a survey answer; False (nothing written) when a machine followed the link."""
        customer_id, letter_id, ref = self._customer_of(token, SURVEY)
        answer = survey_reason(reason, self.app.settings.campaign.survey_reasons)
        if answer is None:
            raise NotFound(f"no survey answer {reason!r}")
        reason = answer
        if self._machine(visit, ref):
            return False
        with self.app.db.write() as conn:
            repo.record_survey_answer(conn, customer_id, letter_id, reason, visit.now)
        return True

    def purchase_webhook(self, body: bytes, signature: str | None, now: datetime) -> dict[str, object]:
        """An order posted by the shop, signed with HMAC-SHA256 over the raw body."""
        secret = os.environ.get(WEBHOOK_SECRET_ENV, "")
        if not secret:
            raise Unauthorized(f"the purchase webhook is off: set {WEBHOOK_SECRET_ENV}")
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature.strip(), expected):
            raise Unauthorized(f"missing or wrong {SIGNATURE_HEADER}")
        try:
            row = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"the body is not JSON: {exc}") from None
        if not isinstance(row, dict):
            raise InputError("the body must be one JSON object (an order)")
        try:
            record = parse_order(row, self.app.settings.shop.currency)
        except RowError as exc:
            raise InputError(str(exc)) from None
        if record.placed_at > now + FUTURE_SLACK:
            raise InputError(f"placed_at {record.placed_at.isoformat()} is in the future")
        stored, returned, reason = record_purchase(self.app, record, now)
        if reason is not None:
            raise InputError(reason)
        return {"order": record.external_id, "stored": stored, "returned": bool(returned)}
