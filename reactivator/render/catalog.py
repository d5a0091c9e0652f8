"""The marketers' templates, loaded once into an immutable, pre-inlined snapshot.

Layout of the folder (`[templates] dir`):

    _layout.html.j2                       the shared letter (anatomy, CSS)
    <locale>/_strings.j2                  shared words of a language (menu, survey, footer)
    <locale>/<step>.subject.j2            one triplet per step and language
    <locale>/<step>.html.j2
    <locale>/<step>.txt.j2                optional: derived from the HTML when absent

A catalog is a version: every file is read at load, the HTML sources are
inlined once (see `inline`), and a saved file only takes effect in the next
catalog, which is checked before anything uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from jinja2 import BaseLoader, Environment, TemplateNotFound

from reactivator.core.locales import LOCALES
from reactivator.errors import ConfigError, TemplateError
from reactivator.render.environment import make_environment
from reactivator.render.inline import Inliner, PremailerInliner, inline_source, is_document, template_css

SUFFIXES = ("subject", "html", "txt")
# A derived text part keeps the link targets ("[Unsubscribe](https://...)"): in plain
# text a link without its address is no link at all.
_TEXT_FROM_HTML = ParserConfig(display_links=True)
LAYOUT = "_layout.html.j2"


def template_name(locale: str, step_key: str, part: str) -> str:
    return f"{locale}/{step_key}.{part}.j2"


class SnapshotLoader(BaseLoader):
    """Serves templates from memory; the file name stays the template's name, for file:line."""

    def __init__(self, sources: dict[str, str]) -> None:
        self.sources = sources

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        if template not in self.sources:
            raise TemplateNotFound(template)
        return self.sources[template], template, lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self.sources)


def read_folder(folder: Path) -> dict[str, str]:
    """Every template file under `folder`, by its name relative to it (with '/')."""
    if not folder.is_dir():
        raise ConfigError(
            [
                f"templates.dir = {str(folder)!r}: no such folder (set it in [templates] or via "
                "REACTIVATOR_TEMPLATES__DIR; run reactivator from the project folder to use "
                "the shipped templates/emails)"
            ]
        )
    sources: dict[str, str] = {}
    for path in sorted(folder.rglob("*.j2")):
        name = path.relative_to(folder).as_posix()
        try:
            sources[name] = path.read_text(encoding="utf-8")
        except (FileNotFoundError, IsADirectoryError):
            continue  # removed while we looked (an editor saving by rename)
        except UnicodeDecodeError as exc:
            raise TemplateError(
                [f"{name}:1: error: not UTF-8 text (byte {exc.start}: {exc.reason}); save the file as UTF-8"],
                str(folder),
            ) from None
    return sources


def version_of(sources: dict[str, str]) -> str:
    """A short fingerprint of every file's name and content."""
    return sha256("\0".join(f"{k}\0{v}" for k, v in sorted(sources.items())).encode()).hexdigest()[:12]


@dataclass
class Catalog:
    """One version of the templates: sources, their inlined twins and the environments."""

    folder: Path
    sources: dict[str, str]
    inliner: Inliner = field(default_factory=PremailerInliner)
    # Steps whose inline-once output differs from per-letter inlining: inlined per letter.
    per_letter: set[tuple[str, str]] = field(default_factory=set)
    inline_errors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.version = version_of(self.sources)
        self.css = template_css(self.sources.get(LAYOUT, ""))
        self.inlined = {name: self._inline(name, src) for name, src in self.sources.items()}
        self.html_env = make_environment(SnapshotLoader(self.sources), html=True)
        self.inlined_env = make_environment(SnapshotLoader(self.inlined), html=True)
        self.text_env = make_environment(SnapshotLoader(self.sources), html=False)

    @classmethod
    def load(cls, folder: Path, inliner: Inliner | None = None) -> Catalog:
        return cls(folder, read_folder(folder), inliner or PremailerInliner())

    def _inline(self, name: str, source: str) -> str:
        if not name.endswith(".html.j2"):
            return source
        try:
            return inline_source(source, "" if is_document(source) else self.css, self.inliner)
        except Exception as exc:  # a source premailer cannot parse is inlined per letter
            self.inline_errors[name] = str(exc)
            return source

    def path_of(self, name: str) -> Path:
        return self.folder / name

    def has(self, name: str) -> bool:
        return name in self.sources

    def locales(self) -> Iterable[str]:
        return (loc for loc in LOCALES if any(n.startswith(f"{loc}/") for n in self.sources))

    def render_subject(self, locale: str, step_key: str, context: dict[str, Any]) -> str:
        return self.text_env.get_template(template_name(locale, step_key, "subject")).render(context)

    def render_html(self, locale: str, step_key: str, context: dict[str, Any]) -> str:
        """The letter's HTML with its CSS inlined (once per version, or per letter where needed)."""
        name = template_name(locale, step_key, "html")
        if (locale, step_key) in self.per_letter or name in self.inline_errors:
            return self.inline_letter(self.html_env.get_template(name).render(context))
        return self.inlined_env.get_template(name).render(context)

    def render_raw_html(self, locale: str, step_key: str, context: dict[str, Any]) -> str:
        """The HTML before any inlining (what the check locates errors in)."""
        return self.html_env.get_template(template_name(locale, step_key, "html")).render(context)

    def inline_letter(self, html: str) -> str:
        return self.inliner.inline(html)

    def render_text(self, locale: str, step_key: str, context: dict[str, Any], html: str) -> str:
        """The plain-text part: its own template, or else derived from the finished HTML."""
        name = template_name(locale, step_key, "txt")
        if name in self.sources:
            return self.text_env.get_template(name).render(context)
        return str(get_text(html, _TEXT_FROM_HTML)).strip() + "\n"


_LABELS: dict[tuple[str, str], dict[str, str]] = {}


def survey_labels(folder: Path, locale: str) -> dict[str, str]:
    """The survey's answers as the marketer words them in `<locale>/_strings.j2` (by reason);
    {} when the file or its `survey_labels` is missing or broken (the page then shows the reasons)."""
    sources = read_folder(folder)
    key = (version_of(sources), locale)
    if key not in _LABELS:
        env = make_environment(SnapshotLoader(sources), html=False)
        try:
            labels = getattr(env.get_template(f"{locale}/_strings.j2").module, "survey_labels", {})
        except Exception:
            labels = {}
        _LABELS[key] = {str(k): str(v) for k, v in dict(labels).items()} if isinstance(labels, dict) else {}
    return _LABELS[key]
