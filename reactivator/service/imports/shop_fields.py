"""Fields as the shop platforms write them: their ids, tags, times, money, and consent.

Consent gets the strictest reading: a value that is not understood rejects the
row, and a column that looks like consent but is not one a format knows stops
the import before anything is written, so that nobody who said no is mailed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from reactivator.core.locales import LOCALES, language_of
from reactivator.errors import InputError
from reactivator.service.imports.rows import RowError, parse_amount_cents, parse_instant

# Words that make a column look like a marketing-consent column.
CONSENT_WORDS = ("consent", "marketing", "newsletter", "subscri", "opt_in", "opt-in", "optin", "opt in")
_SPACE_RUN = re.compile(r"[^a-z0-9_-]+")


def check_consent_columns(header: Iterable[str], understood: Iterable[str]) -> None:
    """InputError when the header has a consent-like column this format does not read."""
    known = {c.lower() for c in understood}
    strange = [c for c in header if c not in known and any(w in c.lower() for w in CONSENT_WORDS)]
    if strange:
        raise InputError(
            f"column {strange[0]!r} looks like marketing consent, but this format does not read it: "
            "nobody may be mailed on a guess. Remove the column, or turn it into the format's own "
            f"consent column ({', '.join(sorted(known)) or 'none'})"
        )


def text(row: Mapping[str, object], key: str, limit: int = 300) -> str | None:
    """A plain text field, stripped; None when empty."""
    raw = row.get(key)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise RowError(f"{key} must be text")
    value = str(raw).strip()
    if not value:
        return None
    if len(value) > limit:
        raise RowError(f"{key} is longer than {limit} characters")
    if any(ch in value for ch in "\r\n\x00"):
        raise RowError(f"{key} contains a line break or NUL character")
    return value


def shop_id(raw: object, key: str) -> str:
    """A platform's id: Shopify writes a leading ' so that spreadsheets keep it as text."""
    value = text({key: raw}, key, 128)
    if value is None:
        raise RowError(f"missing {key}")
    return value.lstrip("'").strip() or _missing(key)


def _missing(key: str) -> str:
    raise RowError(f"missing {key}")


def tags(raw: str | None, separator: str = ",") -> frozenset[str]:
    """Shop tags as reactivator keeps them: lower case, every run of other characters as '_'
    ("Bad payer" is bad_payer, "VIP, wholesale" two tags)."""
    found = set()
    for part in (raw or "").split(separator):
        tag = _SPACE_RUN.sub("_", part.strip().lower()).strip("_")
        if tag:
            found.add(tag[:60])
    return frozenset(found)


def locale_for(language: str | None, country: str | None, by_country: Mapping[str, str]) -> str | None:
    """The customer's language: the one given, else the one of their country, else none (the
    shop's default applies)."""
    if language:
        lang = language_of(language)
        if lang in LOCALES:
            return lang
    if country:
        return by_country.get(country.strip().upper())
    return None


def shop_time(raw: object, key: str) -> datetime:
    """A timestamp as the platforms write it: ISO 8601, or Shopify's '2024-01-15 10:23:45 -0500';
    WooCommerce's *_gmt fields have no offset and are UTC."""
    value = text({key: raw}, key, 64)
    if value is None:
        raise RowError(f"missing {key}")
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
    except ValueError:
        return parse_instant(value, field=key)


def money(raw: object, key: str) -> int:
    """An amount in cents from a platform's decimal text (or JSON number); negatives are refunds."""
    if raw is None or raw == "":
        raise RowError(f"missing {key}")
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise RowError(f"{key} {raw!r} is not a number")
    value = repr(raw) if isinstance(raw, float) else str(raw).strip()
    negative = value.startswith("-")
    cents = parse_amount_cents(value.removeprefix("-"))
    return -cents if negative else cents


def yes_no(raw: object, key: str, yes: Iterable[str], no: Iterable[str]) -> bool:
    """True for a "yes" value, False for a "no" value; anything else rejects the row."""
    value = str(raw).strip().lower() if raw is not None else ""
    if value in {v.lower() for v in yes}:
        return True
    if value in {v.lower() for v in no}:
        return False
    raise RowError(f"{key} {raw!r} is not understood as consent; expected one of {', '.join([*yes, *no])}")
