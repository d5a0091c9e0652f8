"""The Jinja2 environments marketer templates run in: sandboxed, strict, locale-aware.

Templates are edited by people outside engineering, so they run in Jinja2's
immutable sandbox (no attribute tricks, no `str.format` escapes, no mutation
of the context), undefined names fail loudly instead of printing nothing, and
HTML output is autoescaped. Subjects and plain text use a second environment
without escaping, since `&amp;` in a subject line is a bug, not a safety
measure; the MIME layer keeps those parts from injecting headers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import BaseLoader, StrictUndefined, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import escape

# CLDR's order of plural categories; a template lists the forms its language uses in this order.
_CATEGORY_ORDER = ("zero", "one", "two", "few", "many")


class Untrusted(str):
    """Text from the shop's data (a customer's or a product's name): escaped in HTML even where a
    template marks it `|safe`, since Markup() and escape() both go through __html__."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(escape(str(self)))


# Beyond these, an operation would only ever be a mistake or an attack (a number of
# thousands of digits, a string of gigabytes) and is refused with a plain message.
MAX_EXPONENT = 100
MAX_REPEAT = 10_000


class LetterSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with `**` and `*` held to sizes a letter could need."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"a power of {right} is too large for a letter (at most {MAX_EXPONENT})")
        if operator == "*":
            sizes = [v for v in (left, right) if isinstance(v, int) and not isinstance(v, bool)]
            if any(isinstance(v, str | list | tuple) for v in (left, right)) and any(
                abs(n) > MAX_REPEAT for n in sizes
            ):
                raise SecurityError(f"repeating text more than {MAX_REPEAT:,} times is not allowed")
        return super().call_binop(context, operator, left, right)


def make_environment(loader: BaseLoader, *, html: bool) -> ImmutableSandboxedEnvironment:
    """A sandboxed environment; `html` turns autoescaping on."""
    env = LetterSandbox(
        loader=loader,
        autoescape=html,
        undefined=StrictUndefined,
        auto_reload=True,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, date=long_date, plural=plural, number=number, away=away)
    return env


# Formatting is pure and the same few values recur in every letter (prices, the
# expiry date, day counts), so results are memoised; Babel's CLDR lookups
# would otherwise cost more than rendering the template.
@lru_cache(maxsize=16)
def _locale_named(name: str) -> Locale:
    return Locale.parse(name)


def _locale(ctx: Context) -> Locale:
    return _locale_named(str(ctx.get("locale", "en")))


@lru_cache(maxsize=4096)
def _money(amount: str, currency: str, locale: Locale) -> str:
    return str(format_currency(Decimal(amount), currency, locale=locale))


@lru_cache(maxsize=1024)
def _date(value: date, locale: Locale) -> str:
    return str(format_date(value, format="long", locale=locale))


@lru_cache(maxsize=4096)
def _number(value: float | int, locale: Locale) -> str:
    return str(format_decimal(value, locale=locale))


@pass_context
def money(ctx: Context, amount: float | Decimal | int) -> str:
    """An amount in the shop's currency, written the customer's way ($49.00 / 49,00 $)."""
    return _money(str(amount), str(ctx["shop"]["currency"]), _locale(ctx))


@pass_context
def long_date(ctx: Context, value: date | datetime) -> str:
    """A date as the customer reads it: November 23, 2026 / 23 ноября 2026 г."""
    if isinstance(value, datetime):
        value = value.date()
    return _date(value, _locale(ctx))


@pass_context
def number(ctx: Context, value: float | int) -> str:
    return _number(value, _locale(ctx))


@pass_context
def plural(ctx: Context, count: int, *forms: str) -> str:
    """`count` with the right word form: {{ n | plural("день", "дня", "дней") }} -> 21 день.

    Forms come in CLDR order for the language (English: one, other; Russian:
    one, few, many); a missing form falls back to the last one given.
    """
    if not forms:
        raise ValueError("plural needs the word forms, e.g. plural('day', 'days')")
    loc = _locale(ctx)
    return f"{_number(count, loc)} {forms[min(_form_index(count, loc), len(forms) - 1)]}"


# How long someone has been away, said as people say it: counting exact days reads like surveillance.
_AWAY = {
    "en": ("a few weeks", ("month", "months"), "over a year", ("year", "years")),
    "ru": ("несколько недель", ("месяц", "месяца", "месяцев"), "больше года", ("год", "года", "лет")),
}


@pass_context
def away(ctx: Context, days: int) -> str:
    """`days` away in words: "a few weeks", "7 months", "over a year", "2 years" (and in Russian)."""
    loc = _locale(ctx)
    weeks, months, a_year, years = _AWAY.get(loc.language, _AWAY["en"])
    if days < 60:
        return weeks
    if days < 365:
        return plural(ctx, days // 30, *months)
    if days < 730:
        return a_year
    return plural(ctx, days // 365, *years)


@lru_cache(maxsize=4096)
def _form_index(count: int, loc: Locale) -> int:
    rule = loc.plural_form
    used = [c for c in _CATEGORY_ORDER if c in rule.tags] + ["other"]
    category = rule(count)
    return used.index(category) if category in used else len(used) - 1


def plain(value: Any) -> Any:
    """Context values must be plain data; anything else is a programming error caught early."""
    if value is None or isinstance(value, str | int | float | bool | Decimal | date):  # Untrusted is a str
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(f"template context holds a {type(value).__name__}; only plain data may go in")
