"""From a queued letter to the finished MIME message: context, templates, links, headers.

Sending, previews, the preview page and the template check all go through
`Composer.compose`, so what a marketer sees is what a customer gets.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol
from urllib.parse import quote

from reactivator.config import Settings
from reactivator.config.policy import policy_from_settings
from reactivator.core.locales import LOCALES
from reactivator.core.model import Step
from reactivator.core.records import Letter
from reactivator.errors import InputError
from reactivator.render.catalog import Catalog
from reactivator.render.context import letter_context
from reactivator.render.links import LetterLinks, Tokens
from reactivator.render.message import Envelope, build_message, encoded_subject, one_line

TEST_PREFIX = "[TEST] "


@dataclass(frozen=True)
class Composed:
    """A finished letter, with the parts the preview and the check look at."""

    subject: str
    html: str
    text: str
    untracked_html: str
    untracked_text: str
    context: dict[str, Any]
    message: EmailMessage
    locale: str


class LetterBuilder(Protocol):
    """What sending needs of a composer (a daemon's may mix template versions per step)."""

    @property
    def step_keys(self) -> frozenset[str]: ...

    def compose(self, letter: Letter, now: datetime, *, locale: str | None = None) -> Composed: ...

    @property
    def tokens(self) -> Tokens: ...

    def composer_for(self, letter: Letter) -> tuple[Composer, str]:
        """The one-version composer that builds this letter, and the letter's language."""
        ...

    def newest_composer(self) -> Composer:
        """The composer of the newest template version (what most letters are built from)."""
        ...


class Composer:
    """Builds letters from one catalog version with the settings and signing keys."""

    def __init__(self, settings: Settings, catalog: Catalog, tokens: Tokens) -> None:
        self.settings = settings
        self.catalog = catalog
        self.tokens = tokens
        self.policy = policy_from_settings(settings)
        self.locales = list(LOCALES)
        self.step_keys = frozenset(step.key for step in self.steps())

    def steps(self) -> tuple[Step, ...]:
        """The campaign's ladder and the apology, in order."""
        return self.policy.all_steps()

    def step(self, key: str) -> Step:
        """The step called `key`; InputError naming the steps there are."""
        for step in self.steps():
            if step.key == key:
                return step
        known = ", ".join(s.key for s in self.steps())
        raise InputError(f"no step {key!r} in the campaign; the steps are: {known}")

    def locale_of(self, letter_locale: str | None) -> str:
        """The customer's language if there are letters in it, else the shop's default."""
        if letter_locale in LOCALES:
            return str(letter_locale)
        return self.settings.shop.default_locale

    def unsubscribe_mailto(self, token_url: str) -> str:
        address = self.settings.sender.unsubscribe_email
        if not address:
            address = "unsubscribe@" + self.settings.sender.from_email.rsplit("@", 1)[1]
        token = token_url.rsplit("/", 1)[1]
        return f"{address}?subject={quote('unsubscribe ' + token)}"

    def feedback_id(self, letter: Letter) -> str:
        """Feedback-ID: step, campaign, kind and the sender's id, colon-separated as Gmail asks."""
        s = self.settings
        sender = s.feedback.feedback_sender_id or s.sender.from_email.rsplit("@", 1)[1]
        fields = (letter.step_key, s.campaign.name, letter.kind, sender)
        return ":".join(re.sub(r"[^A-Za-z0-9._-]", "-", f) for f in fields)

    def links_for(self, letter: Letter) -> LetterLinks:
        tracking = self.settings.campaign.tracking
        return LetterLinks(
            self.tokens, self.settings.web.base_url, letter.letter_id, letter.customer_id, tracking
        )

    def composer_for(self, letter: Letter) -> tuple[Composer, str]:
        return self, self.locale_of(letter.locale)

    def newest_composer(self) -> Composer:
        return self

    def context_for(self, letter: Letter, now: datetime, locale: str) -> dict[str, Any]:
        """The template context of a letter, as compose builds it."""
        return letter_context(letter, self.settings, locale, self.links_for(letter), now)

    def compose(self, letter: Letter, now: datetime, *, locale: str | None = None) -> Composed:
        """The finished letter, in the customer's language unless `locale` is given."""
        s = self.settings
        locale = locale or self.locale_of(letter.locale)
        links = self.links_for(letter)
        context = letter_context(letter, s, locale, links, now)
        subject = one_line(self.catalog.render_subject(locale, letter.step_key, context))
        html = self.catalog.render_html(locale, letter.step_key, context)
        text = self.catalog.render_text(locale, letter.step_key, context, html)
        tracked_html, tracked_text = links.track_html(html), links.track_text(text)
        envelope = Envelope(
            from_name=s.sender.from_name,
            from_email=s.sender.from_email,
            reply_to=s.sender.reply_to,
            to_email=letter.email or "",
            to_name=context["customer"]["full_name"],
            message_id=letter.message_id,
            unsubscribe_url=links.unsubscribe,
            unsubscribe_mailto=self.unsubscribe_mailto(links.unsubscribe),
            feedback_id=self.feedback_id(letter),
        )
        message = build_message(envelope, subject, tracked_text, tracked_html, now)
        return Composed(subject, tracked_html, tracked_text, html, text, context, message, locale)

    def compose_test(self, composed: Composed, address: str) -> EmailMessage:
        """The same letter addressed to a tester, marked [TEST], with a Message-ID of its own."""
        message = copy.deepcopy(composed.message)
        domain = self.settings.sender.from_email.rpartition("@")[2]
        for name, value in (
            ("To", address),
            ("Subject", encoded_subject(TEST_PREFIX + composed.subject)),
            ("Message-ID", make_msgid("test", domain=domain)),
        ):
            del message[name]
            message.set_raw(name, value)
        return message
