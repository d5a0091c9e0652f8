"""The languages letters and pages are written in: the one list everything else reads."""

from __future__ import annotations

LOCALES = ("en", "ru")
DEFAULT_LOCALE = "en"


def language_of(raw: str) -> str:
    """The language part of a locale tag: 'ru_RU', 'ru-RU' and 'RU' are all 'ru'."""
    return raw.strip().lower().replace("_", "-").split("-")[0]
