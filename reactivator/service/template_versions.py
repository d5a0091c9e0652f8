"""The letters of a long-running process: per step and language, the newest version that passed the check.

A marketer's saved file becomes a new version: read, inlined once and
checked. Each (language, step) whose files pass moves to it; one that fails
keeps sending its last good version, as a web server keeps its old config on
a bad reload, and the failure stays as an alert (file:line) until it is fixed.
Nothing is ever built from a template that failed the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reactivator.core.records import Letter
from reactivator.errors import TemplateError
from reactivator.render.catalog import read_folder, version_of
from reactivator.render.check import CheckResult, Problem
from reactivator.render.composer import Composed, Composer
from reactivator.render.links import Tokens
from reactivator.service.app import App
from reactivator.service.letters import load_letters

Pair = tuple[str, str]  # (locale, step key)


def builds(file: str, locale: str, step_key: str) -> bool:
    """Whether `file` goes into the letters of this language and step.

    A step's own files do; so do the shared files (the layout, its language's
    `_strings`), and "-", which stands for a file nobody could name.
    """
    if file.startswith(f"{locale}/{step_key}."):
        return True
    folder, slash, name = file.partition("/")
    if not slash:
        return True
    return folder == locale and name.startswith("_")


def concerns(problem: Problem, locale: str, step_key: str) -> bool:
    """Whether a check problem touches the letters of this language and step."""
    return builds(problem.file, locale, step_key)


def _sources_of(composer: Composer, pair: Pair) -> dict[str, str]:
    return {name: text for name, text in composer.catalog.sources.items() if builds(name, *pair)}


@dataclass(frozen=True)
class Reload:
    version: str
    moved: list[Pair]  # steps whose files changed, now built from the new version
    kept: dict[Pair, list[Problem]]  # steps that failed the check, kept at their last good version


class TemplateVersions:
    """Builds letters with, for each (language, step), its last version that passed the check."""

    def __init__(self, app: App, tokens: Tokens, now: datetime) -> None:
        self.app = app
        self.tokens = tokens
        composer, result = load_letters(app, now, tokens)
        if not result.ok:
            raise TemplateError([str(p) for p in result.errors], str(app.settings.templates.dir))
        self.newest = composer
        self.seen = composer.catalog.version  # the folder's version last read, good or not
        self._good: dict[Pair, Composer] = dict.fromkeys(self._pairs(result), composer)
        self._kept: dict[Pair, list[Problem]] = {}

    @property
    def folder(self) -> Path:
        return self.app.settings.templates.dir

    def stale(self) -> bool:
        """Whether the folder changed since it was last read (a cheap look: names and contents)."""
        return version_of(read_folder(self.folder)) != self.seen

    @staticmethod
    def _pairs(result: CheckResult) -> list[Pair]:
        return list(dict.fromkeys(result.checked))

    @property
    def step_keys(self) -> frozenset[str]:
        return self.newest.step_keys

    def version_of(self, locale: str, step_key: str) -> str:
        """The template version the letters of this language and step are built from."""
        return self._composer_for(locale, step_key).catalog.version

    def alerts(self) -> list[str]:
        """Standing problems: each step kept at an older version, with file:line of why."""
        return [
            f"{locale}/{step}: still sending version {self.version_of(locale, step)} because of "
            + "; ".join(str(p) for p in problems)
            for (locale, step), problems in sorted(self._kept.items())
        ]

    def reload(self, now: datetime) -> Reload:
        """Read the folder again; move every (language, step) that passes to the new version."""
        composer, result = load_letters(self.app, now, self.tokens)
        self.seen = composer.catalog.version
        good = dict(self._good)
        moved: list[Pair] = []
        kept: dict[Pair, list[Problem]] = {}
        for pair in self._pairs(result):
            problems = [p for p in result.errors if concerns(p, *pair)]
            if problems or pair in result.failed:
                # A step whose letters failed through a file it cannot be told apart by
                # (an included partial) is kept too, with every error found.
                kept[pair] = problems or result.errors
            else:
                if pair not in good or _sources_of(good[pair], pair) != _sources_of(composer, pair):
                    moved.append(pair)
                good[pair] = composer
        # Swapped whole: send batches on other threads see the old map or the new, never half.
        self._good, self._kept = good, kept
        if not kept:
            self.newest = composer
        return Reload(composer.catalog.version, moved, kept)

    def _composer_for(self, locale: str, step_key: str) -> Composer:
        return self._good.get((locale, step_key), self.newest)

    def compose(self, letter: Letter, now: datetime, *, locale: str | None = None) -> Composed:
        locale = locale or self.newest.locale_of(letter.locale)
        return self._composer_for(locale, letter.step_key).compose(letter, now, locale=locale)

    def newest_composer(self) -> Composer:
        return self.newest

    def composer_for(self, letter: Letter) -> tuple[Composer, str]:
        locale = self.newest.locale_of(letter.locale)
        return self._composer_for(locale, letter.step_key), locale
