"""Rendering benchmark: the full letter against a bare Jinja2 render of the same template, in one run.

    .venv/bin/python bench/render.py [--letters 400] [--repeat 3] [--step we-miss-you] [--locale en]

Figures, per letter, each printed as a ratio to the reference measured in the same run:
  reference  a bare jinja2.Environment (autoescape, no sandbox) rendering the step's HTML
             template from templates/emails with the same context                (1.00)
  full       reactivator's whole path: context, subject, HTML with inlined CSS,
             text part, signed tracking links, MIME message and its wire bytes   (target <= 3)
  naive      the bare render followed by premailer on every letter (the way
             without inline-once), to show what inlining once saves
A breakdown of the full path (context, templates, links, MIME build, bytes) follows.
Letters rotate over the named sample customers; every timing is the best of --repeat.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from reactivator.config import load_settings
from reactivator.core.records import Letter
from reactivator.render.catalog import Catalog, template_name
from reactivator.render.composer import Composer
from reactivator.render.context import letter_context
from reactivator.render.environment import long_date, money, number, plural
from reactivator.render.inline import PremailerInliner
from reactivator.render.links import LetterLinks, Tokens
from reactivator.render.message import Envelope, build_message
from reactivator.render.samples import SAMPLE_NAMES, at_step, sample_letter

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def best_per_letter(fn: Callable[[Letter], object], letters: list[Letter], repeat: int) -> float:
    """Seconds per letter, best of `repeat` passes over all letters (after one warm-up pass)."""
    for letter in letters[:20]:
        fn(letter)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for letter in letters:
            fn(letter)
        runs.append((time.perf_counter() - start) / len(letters))
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--letters", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--step", default="we-miss-you")
    parser.add_argument("--locale", default="en")
    args = parser.parse_args()

    settings = load_settings(
        ROOT / "config" / "reactivator.toml", templates={"dir": ROOT / "templates" / "emails"}
    )
    catalog = Catalog.load(settings.templates.dir)
    composer = Composer(settings, catalog, Tokens(["bench-key-" + "x" * 32]))
    step = composer.step(args.step)
    letters = [
        at_step(
            sample_letter(SAMPLE_NAMES[i % len(SAMPLE_NAMES)], NOW),
            step.key,
            step.index,
            step.discount_percent,
            step.kind,
            NOW,
        )
        for i in range(args.letters)
    ]
    locale = args.locale
    name = template_name(locale, step.key, "html")

    bare_env = jinja2.Environment(loader=jinja2.FileSystemLoader(settings.templates.dir), autoescape=True)
    bare_env.filters.update(money=money, date=long_date, plural=plural, number=number)
    bare = bare_env.get_template(name)

    def links_of(letter: Letter) -> LetterLinks:
        return LetterLinks(composer.tokens, settings.web.base_url, letter.letter_id, letter.customer_id, True)

    contexts = {
        id(letter): letter_context(letter, settings, locale, links_of(letter), NOW) for letter in letters
    }

    def reference(letter: Letter) -> object:
        return bare.render(contexts[id(letter)])

    def full(letter: Letter) -> object:
        return composer.compose(letter, NOW, locale=locale).message.as_bytes()

    inliner = PremailerInliner()

    def naive(letter: Letter) -> object:
        return inliner.inline(bare.render(contexts[id(letter)]))

    # The parts of the full path, each on its own.
    def context_only(letter: Letter) -> object:
        return letter_context(letter, settings, locale, links_of(letter), NOW)

    def templates_only(letter: Letter) -> object:
        ctx = contexts[id(letter)]
        html = catalog.render_html(locale, step.key, ctx)
        return (
            catalog.render_subject(locale, step.key, ctx),
            html,
            catalog.render_text(locale, step.key, ctx, html),
        )

    rendered = {id(letter): templates_only(letter) for letter in letters}

    def links_only(letter: Letter) -> object:
        _subject, html, text = rendered[id(letter)]  # type: ignore[misc]
        links = links_of(letter)
        return links.track_html(html), links.track_text(text)

    def mime_only(letter: Letter) -> object:
        subject, html, text = rendered[id(letter)]  # type: ignore[misc]
        envelope = Envelope(
            "Demo Shop",
            "hello@shop.example.com",
            "care@shop.example.com",
            letter.email or "",
            "Jane Doe",
            letter.message_id,
            "https://t.example.com/u/abc",
            "unsubscribe@shop.example.com?subject=unsubscribe",
        )
        return build_message(envelope, subject, text, html, NOW)

    messages = {id(letter): mime_only(letter) for letter in letters}

    def bytes_only(letter: Letter) -> object:
        return messages[id(letter)].as_bytes()  # type: ignore[attr-defined]

    ref = best_per_letter(reference, letters, args.repeat)
    figures = [
        ("full path (context..MIME bytes)", best_per_letter(full, letters, args.repeat), "<= 3"),
        ("naive: bare render + premailer", best_per_letter(naive, letters, args.repeat), ""),
    ]
    parts = [
        ("context", best_per_letter(context_only, letters, args.repeat)),
        ("templates (subject, HTML, text)", best_per_letter(templates_only, letters, args.repeat)),
        ("signed links + pixel", best_per_letter(links_only, letters, args.repeat)),
        ("MIME build", best_per_letter(mime_only, letters, args.repeat)),
        ("MIME bytes", best_per_letter(bytes_only, letters, args.repeat)),
    ]
    size = statistics.mean(len(str(rendered[id(letter)][1])) for letter in letters)  # type: ignore[index]
    print(f"{locale}/{step.key}: {len(letters)} letters, HTML ~{size / 1024:.1f} KB, best of {args.repeat}")
    print(f"{'reference: bare Jinja2 render':36s} {ref * 1e6:9.0f} us/letter   1.00")
    for label, seconds, target in figures:
        goal = f"target {target}" if target else ""
        print(f"{label:36s} {seconds * 1e6:9.0f} us/letter {seconds / ref:6.2f}x  {goal}")
    print("breakdown of the full path:")
    for label, seconds in parts:
        print(f"  {label:34s} {seconds * 1e6:9.0f} us/letter {seconds / ref:6.2f}x")


if __name__ == "__main__":
    main()
