"""The sandbox marketers' templates run in, and the locale-aware filters."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from jinja2 import DictLoader, UndefinedError
from jinja2.sandbox import SecurityError

from reactivator.render.environment import make_environment, plain

SHOP = {"shop": {"currency": "USD"}}


def render(source: str, html: bool = True, **context: Any) -> str:
    env = make_environment(DictLoader({"t": source}), html=html)
    return env.get_template("t").render({**SHOP, "locale": "en", **context})


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ customer.__class__.__init__.__globals__ }}",
        "{{ ''.__class__ }}",
        "{{ (1).__class__.__base__ }}",
        "{{ '{0.__class__.__mro__}'.format(customer) }}",
        "{{ '{0.__globals__}'.format(render) }}",
        "{{ customer.update({'first_name': 'x'}) }}",
        "{{ products.append(1) }}",
    ],
)
def test_the_sandbox_blocks_attribute_format_and_mutation_tricks(attack: str) -> None:
    with pytest.raises(SecurityError):
        render(attack, customer={"first_name": "Ann"}, products=[], render=render)


def test_an_undefined_name_fails_instead_of_printing_nothing() -> None:
    with pytest.raises(UndefinedError):
        render("Hello {{ custmer.first_name }}")


def test_html_is_escaped_and_text_and_subjects_are_not() -> None:
    name = '<script>alert("x")</script> & Co'
    assert render("{{ n }}", n=name) == "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co"
    assert render("{{ n }}", html=False, n=name) == name


@pytest.mark.parametrize(
    ("count", "word"),
    [
        (1, "1 день"),
        (2, "2 дня"),
        (5, "5 дней"),
        (11, "11 дней"),
        (21, "21 день"),
        (22, "22 дня"),
        (111, "111 дней"),
    ],
)
def test_russian_plurals_follow_cldr(count: int, word: str) -> None:
    out = render('{{ n | plural("день", "дня", "дней") }}', locale="ru", n=count)
    assert out == word


def test_english_plurals_and_money_and_dates_follow_the_locale() -> None:
    assert render('{{ 1 | plural("day", "days") }}, {{ 3 | plural("day", "days") }}') == "1 day, 3 days"
    assert render("{{ 1234.5 | money }}") == "$1,234.50"
    assert (
        render("{{ 1234.5 | money }}", locale="ru").replace("\xa0", " ").replace("\u202f", " ")
        == "1 234,50 $"
    )
    assert render("{{ d | date }}", d=date(2026, 11, 23)) == "November 23, 2026"
    assert (
        render("{{ d | date }}", locale="ru", d=date(2026, 11, 23)).replace("\u202f", " ")
        == "23 ноября 2026 г."
    )


def test_the_context_must_be_plain_data() -> None:
    class Row:
        pass

    assert plain({"a": [1, "x", date(2026, 1, 1)], "b": None}) == {"a": [1, "x", date(2026, 1, 1)], "b": None}
    with pytest.raises(TypeError, match="only plain data"):
        plain({"customer": Row()})
