"""The demo's letters to look at: for each step and language, a customer of the demo shop who
was sent it, and that letter written to `<outbox>/samples/` (.eml and .html), as the sending
code builds it. The spam-filter check in CI scores these files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reactivator.config.demo_images import write_local
from reactivator.db.letters import sent_by_step_and_locale
from reactivator.service.app import App
from reactivator.service.letters import checked_composer
from reactivator.service.preview import preview_customer


@dataclass(frozen=True)
class Sample:
    step_key: str
    locale: str
    customer: str  # the demo customer's id, for `reactivator preview`
    eml: Path
    html: Path


def write_samples(app: App, now: datetime, folder: Path) -> list[Sample]:
    """One letter per step and language, for a customer who had it; in the ladder's order."""
    composer = checked_composer(app, now)
    with app.db.read() as conn:
        sent = sent_by_step_and_locale(conn)
    had: dict[tuple[str, str], str] = {}
    anyone: dict[str, str] = {}  # a customer of each language, for a step none of them had yet
    for step_key, language, who in sent:
        had.setdefault((step_key, composer.locale_of(language)), who)
        anyone.setdefault(composer.locale_of(language), who)
    folder.mkdir(parents=True, exist_ok=True)
    samples = []
    for step in composer.steps():
        for locale in composer.locales:
            customer = had.get((step.key, locale)) or anyone.get(locale)
            if customer is None:
                continue
            shown = preview_customer(app, composer, customer, now, step.key)
            base = folder / f"{locale}-{step.key}"
            eml, html = base.with_suffix(".eml"), base.with_suffix(".html")
            eml.write_bytes(shown.composed.message.as_bytes())
            html.write_text(write_local(shown.composed.html, folder), encoding="utf-8")
            samples.append(Sample(step.key, locale, customer, eml, html))
    return samples
