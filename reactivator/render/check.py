"""`templates check`: everything that can be wrong with a letter, found before it is sent.

Each step's templates are compiled and rendered in every language with every
sample customer, and the output is held to the rules of a reactivation
letter: an unsubscribe link and the postal address in both parts, the step's
discount and no other, alt text on every image, no empty link, and an HTML
size under Gmail's clipping limit. Problems carry file:line and a plain
explanation. The same pass proves, per template, that inlining the CSS once
gives the same letter as inlining each letter; where it does not, that
template is inlined per letter (a note, not an error).
"""

from __future__ import annotations

import itertools
import re
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from html.parser import HTMLParser

from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError, TemplateNotFound

from reactivator.core.model import EnrollmentKind, Step
from reactivator.render.catalog import SUFFIXES, Catalog, template_name
from reactivator.render.composer import Composed, Composer
from reactivator.render.inline import canonical, has_dynamic_css
from reactivator.render.samples import SAMPLE_NAMES, sample_at
from reactivator.render.template_lint import lint_template

_STYLE_BLOCK = re.compile(r"<style[^>]*>.*?</style>", re.S | re.I)
_PERCENT = re.compile(r"(?<![\d.,])(\d{1,3})\s?%")


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str
    level: str = "error"  # or "warning", "note": worth knowing, not a reason to refuse

    def __str__(self) -> str:
        # Line 0: about the whole file (it is missing, or lacks something), not one line of it.
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.level}: {self.message}"


@dataclass
class CheckResult:
    problems: list[Problem]
    checked: list[tuple[str, str]]  # (locale, step key)
    # The (locale, step key) pairs whose own letters met an error, whichever file it was in.
    failed: frozenset[tuple[str, str]] = frozenset()

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def errors_for(self, locale: str, step_key: str) -> list[Problem]:
        """The errors in this letter's own files, its language's shared words, or the shared layout."""
        own = (f"{locale}/{step_key}.", f"{locale}/_")
        return [p for p in self.errors if p.file.startswith(own) or "/" not in p.file]


def _template_line(exc: BaseException, names: Iterable[str]) -> tuple[str, int] | None:
    """The innermost template file and line in an exception's traceback."""
    known = set(names)
    found = None
    tb: types.TracebackType | None = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename in known:
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _explain(exc: BaseException) -> str:
    if isinstance(exc, UndefinedError):
        return f"{exc.message} (a name the letter's context does not have; check the spelling)"
    if isinstance(exc, SecurityError):
        return f"not allowed in a letter template: {exc}"
    if isinstance(exc, TemplateNotFound):
        return f"includes or extends {exc.name!r}, which does not exist"
    return f"{type(exc).__name__}: {exc}"


def template_problem(exc: BaseException, sources: Iterable[str]) -> Problem:
    """A rendering failure as file:line and a plain explanation (for pages and logs)."""
    file, line = _template_line(exc, sources) or ("-", 0)
    return Problem(file, line, _explain(exc))


class _Scan(HTMLParser):
    """Images without alt text and links that go nowhere, with their line in the output."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images_without_alt: list[tuple[int, str]] = []
        self.empty_links: list[tuple[int, str]] = []
        self._link: tuple[int, str, bool] | None = None  # line, href, has content

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        line = self.getpos()[0]
        if tag == "img":
            # alt="" marks a decorative image (screen readers skip it); no alt at all is the mistake.
            if a.get("alt") is None:
                self.images_without_alt.append((line, a.get("src") or "?"))
            if self._link:
                self._link = (self._link[0], self._link[1], True)
        elif tag == "a":
            self._link = (line, (a.get("href") or "").strip(), False)

    def handle_data(self, data: str) -> None:
        if self._link and data.strip():
            self._link = (self._link[0], self._link[1], True)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link:
            line, href, content = self._link
            if not href or href == "#" or not content:
                self.empty_links.append((line, href or "(no href)"))
            self._link = None


class Checker:
    """Runs every check over one catalog with one composer."""

    def __init__(self, composer: Composer, now: datetime) -> None:
        self.composer = composer
        self.catalog: Catalog = composer.catalog
        self.now = now
        self.problems: set[Problem] = set()
        self.failed: set[tuple[str, str]] = set()
        self._step: tuple[str, str] | None = None  # the step being checked

    def _add(self, file: str, line: int, message: str, level: str = "error") -> None:
        self.problems.add(Problem(file, line, message, level))
        if level == "error" and self._step is not None:
            self.failed.add(self._step)

    def _locate(self, names: Iterable[str], needle: str) -> tuple[str, int]:
        """The first source line containing `needle` (file:line for problems found in the output)."""
        for name in names:
            for number, text in enumerate(self.catalog.sources.get(name, "").splitlines(), 1):
                if needle in text:
                    return name, number
        first = next(iter(names))
        return first, 1

    def run(self) -> CheckResult:
        self._compile_all()
        checked: list[tuple[str, str]] = []
        layout = self.catalog.sources.get("_layout.html.j2", "")
        if has_dynamic_css(layout):
            self._add(
                "_layout.html.j2",
                1,
                "the <style> block uses template code, so letters are inlined one "
                "by one (slower); keep CSS static to inline it once",
                "note",
            )
        for locale in self.composer.locales:
            for step in self.composer.steps():
                checked.append((locale, step.key))
                self._step = (locale, step.key)
                self._check_step(locale, step)
        self._step = None
        self._check_escalation()
        return CheckResult(sorted(self.problems), checked, frozenset(self.failed))

    def _check_escalation(self) -> None:
        """Each letter of the ladder should offer at least what the one before it did."""
        ladder = self.composer.policy.ladder(EnrollmentKind.LADDER)
        for before, after in itertools.pairwise(ladder):
            if after.discount_percent < before.discount_percent:
                self._add(
                    f"[[campaign.steps]] {after.key}",
                    0,
                    f"the ladder stops escalating: {after.key!r} gives {after.discount_percent}% after "
                    f"{before.key!r} gave {before.discount_percent}%; a customer who ignored the bigger "
                    "offer is unlikely to take a smaller one",
                    "warning",
                )

    def run_for(self, locale: str, step: Step) -> CheckResult:
        """The same checks for one letter only: its own files, its language's words, the layout."""
        used = (f"{locale}/{step.key}.", f"{locale}/_")
        self._compile_all(lambda name: name.startswith(used) or "/" not in name)
        self._step = (locale, step.key)
        self._check_step(locale, step)
        self._step = None
        return CheckResult(sorted(self.problems), [(locale, step.key)], frozenset(self.failed))

    def _compile_all(self, wanted: Callable[[str], bool] = lambda name: True) -> None:
        for name, source in self.catalog.sources.items():
            if not wanted(name):
                continue
            env = self.catalog.html_env if name.endswith(".html.j2") else self.catalog.text_env
            for line, message in lint_template(env, name, source):
                self._add(name, line, message)
            try:
                env.get_template(name)
            except TemplateSyntaxError as exc:
                self._add(exc.name or name, exc.lineno, f"syntax error: {exc.message}")
            except Exception as exc:  # whatever else compiling can raise, never a traceback
                self._add(name, 1, f"cannot be compiled: {_explain(exc)}")
        for name, error in self.catalog.inline_errors.items():
            self._add(name, 1, f"CSS could not be inlined once ({error}); inlined per letter", "note")

    def _check_step(self, locale: str, step: Step) -> None:
        names = {part: template_name(locale, step.key, part) for part in SUFFIXES}
        for part in ("subject", "html"):
            if not self.catalog.has(names[part]):
                self._add(names[part], 0, f"missing: step {step.key!r} needs this file in {locale!r}")
        if not all(self.catalog.has(names[p]) for p in ("subject", "html")):
            return
        differs = False
        for sample in SAMPLE_NAMES:
            letter = sample_at(sample, step, self.now, locale)
            try:
                # The sources as written first, so that an error points at the marketer's line
                # (the inlined twins are laid out differently).
                context = self.composer.context_for(letter, self.now, locale)
                self.catalog.render_subject(locale, step.key, context)
                raw = self.catalog.render_raw_html(locale, step.key, context)
                self.catalog.render_text(locale, step.key, context, raw)
                composed = self.composer.compose(letter, self.now, locale=locale)
            except TemplateSyntaxError:
                if self._step is not None:
                    self.failed.add(self._step)
                return  # already reported by _compile_all
            except Exception as exc:
                where = _template_line(exc, self.catalog.sources) or (names["html"], 0)
                self._add(where[0], where[1], f"{_explain(exc)} (sample customer {sample!r})")
                return
            self._lint(locale, step, names, composed, raw, sample)
            if canonical(self.catalog.inline_letter(raw)) != canonical(composed.untracked_html):
                differs = True
        if differs and (locale, step.key) not in self.catalog.per_letter:
            self.catalog.per_letter.add((locale, step.key))
            self._add(
                names["html"],
                1,
                "inlining the CSS once differs from inlining each letter (a selector "
                "that spans files, or styles built by template code); this step is inlined per letter",
                "note",
            )

    def _lint(
        self, locale: str, step: Step, names: dict[str, str], composed: Composed, raw: str, sample: str
    ) -> None:
        html_files = [names["html"], f"{locale}/_strings.j2", "_layout.html.j2"]
        text_files = [names["txt"], f"{locale}/_strings.j2"]
        text_name = names["txt"] if self.catalog.has(names["txt"]) else names["html"]
        visible_html = unescape(re.sub(r"<[^>]+>", " ", _STYLE_BLOCK.sub(" ", composed.untracked_html)))
        unsubscribe = composed.context["links"]["unsubscribe"]
        if unsubscribe not in unescape(composed.untracked_html):
            self._add(names["html"], 0, 'no unsubscribe link: add <a href="{{ links.unsubscribe }}">')
        if unsubscribe not in composed.untracked_text:
            self._add(text_name, 0, "no unsubscribe link in the plain text: add {{ links.unsubscribe }}")
        address = " ".join(self.composer.settings.shop.address_in(locale).split())
        if address not in " ".join(visible_html.split()):
            self._add(
                names["html"], 0, "no postal address: add {{ shop.postal_address }} (the law requires it)"
            )
        if address not in " ".join(composed.untracked_text.split()):
            self._add(text_name, 0, "no postal address in the plain text: add {{ shop.postal_address }}")
        parts = {"subject": composed.subject, "html": visible_html, "txt": composed.untracked_text}
        for part, content in parts.items():
            files = {"subject": [names["subject"]], "html": html_files, "txt": text_files}[part]
            for pct in {int(m) for m in _PERCENT.findall(content)}:
                if pct != step.discount_percent:
                    file, line = self._locate(files, f"{pct}%")
                    expected = f"{step.discount_percent}%" if step.discount_percent else "no discount"
                    self._add(file, line, f"shows {pct}% but step {step.key!r} gives {expected}")
        if discount := step.discount_percent:
            code = composed.context["offer"]["code"]
            for part, content in (("html", visible_html), ("txt", composed.untracked_text)):
                if f"{discount}%" not in content.replace(f"{discount} %", f"{discount}%"):
                    file = names["html"] if part == "html" else text_name
                    self._add(file, 0, f"the {discount}% discount of this step is not shown")
                if code not in content:
                    file = names["html"] if part == "html" else text_name
                    self._add(file, 0, "the coupon code is not shown: add {{ offer.code }}")
        scan = _Scan()
        scan.feed(raw)
        for _line, src in scan.images_without_alt:
            file, line = self._locate_tag(html_files, "img", "alt") or self._locate(html_files, "<img")
            self._add(
                file,
                line,
                f"an image has no alt text ({src}); letters are often read with images off "
                '(alt="" for a purely decorative one)',
            )
        for _line, href in scan.empty_links:
            file, line = self._locate_empty_link(html_files) or self._locate(html_files, "<a")
            self._add(file, line, f"a link goes nowhere or has no text ({href})")
        size_kb = len(composed.html.encode()) / 1024
        limit = self.composer.settings.templates.max_html_kb
        if size_kb > limit:
            self._add(
                names["html"],
                0,
                f"the HTML is {size_kb:.0f} KB (sample {sample!r}); Gmail clips letters "
                f"over ~102 KB, keep it under {limit} KB",
            )

    def _locate_tag(self, names: Iterable[str], tag: str, attribute: str) -> tuple[str, int] | None:
        pattern = re.compile(rf"<{tag}\b(?![^>]*\b{attribute}=)[^>]*>", re.I | re.S)
        return self._first_match(names, pattern)

    def _locate_empty_link(self, names: Iterable[str]) -> tuple[str, int] | None:
        pattern = re.compile(r"<a\b(?![^>]*\bhref=\"[^\"#]+)[^>]*>|<a\b[^>]*>\s*</a>", re.I | re.S)
        return self._first_match(names, pattern)

    def _first_match(self, names: Iterable[str], pattern: re.Pattern[str]) -> tuple[str, int] | None:
        for name in names:
            source = self.catalog.sources.get(name, "")
            match = pattern.search(source)
            if match:
                return name, source.count("\n", 0, match.start()) + 1
        return None


def check_letter(composer: Composer, now: datetime, locale: str, step_key: str) -> CheckResult:
    """The check of one step in one language (what `preview` needs, far quicker than all of them)."""
    return Checker(composer, now).run_for(locale, composer.step(step_key))


def check(composer: Composer, now: datetime) -> CheckResult:
    """Check every step in every language; the catalog learns which steps inline per letter."""
    return Checker(composer, now).run()
