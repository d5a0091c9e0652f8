"""`templates check`: the shipped letters pass, and each kind of mistake is caught with file:line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reactivator.render.check import CheckResult, check
from reactivator.render.composer import Composer
from reactivator.render.samples import at_step, sample_letter
from tests.render.conftest import NOW, make_composer


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def check_copy(folder: Path) -> CheckResult:
    return check(make_composer(folder), NOW)


def test_every_shipped_template_passes_in_both_languages(shipped: Composer) -> None:
    result = check(shipped, NOW)
    assert result.errors == []
    assert {loc for loc, _ in result.checked} == {"en", "ru"}
    assert {key for _, key in result.checked} == {
        "we-miss-you",
        "did-we-say-something-wrong",
        "our-promise",
        "sorry-again",
    }


def test_a_syntax_error_is_reported_with_file_and_line(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    edit(
        folder, "en/we-miss-you.html.j2", "{% block body %}", "{% block body %}\n{% if customer.first_name %}"
    )
    problems = [str(p) for p in check_copy(folder).errors]
    assert any(p.startswith("en/we-miss-you.html.j2:") and "syntax error" in p for p in problems), problems


def test_an_undefined_variable_is_reported_at_its_line(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    source = (folder / "en/we-miss-you.html.j2").read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if 'class="lead"' in text)
    edit(
        folder, "en/we-miss-you.html.j2", "Hello {{ customer.first_name }}", "Hello {{ customer.frist_name }}"
    )
    errors = check_copy(folder).errors
    assert any(
        p.file == "en/we-miss-you.html.j2" and p.line == line and "frist_name" in p.message for p in errors
    ), errors


def test_sandbox_violations_are_errors_not_crashes(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    edit(folder, "ru/we-miss-you.txt.j2", "{% block body %}", "{% block body %}{{ ''.__class__.__mro__ }}")
    errors = check_copy(folder).errors
    assert any(p.file == "ru/we-miss-you.txt.j2" and "not allowed" in p.message for p in errors), errors


def test_a_letter_without_unsubscribe_link_or_postal_address_fails(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    edit(
        folder,
        "_layout.html.j2",
        '<a class="footer-link" href="{{ links.unsubscribe }}">',
        '<a class="footer-link" href="{{ shop.url }}">',
    )
    edit(folder, "_layout.txt.j2", "{{ shop.name }}, {{ shop.postal_address }}", "{{ shop.name }}")
    messages = [p.message for p in check_copy(folder).errors]
    assert any("no unsubscribe link:" in m for m in messages), messages
    assert any("no postal address in the plain text" in m for m in messages), messages


def test_a_discount_that_does_not_match_the_step_is_caught_at_its_line(
    template_copy: Callable[[], Path],
) -> None:
    folder = template_copy()
    edit(
        folder,
        "en/we-miss-you.html.j2",
        "{% block body %}",
        '{% block body %}\n<p class="para">Now 25% off!</p>',
    )
    errors = check_copy(folder).errors
    assert any(
        p.file == "en/we-miss-you.html.j2"
        and p.line == 6
        and "shows 25% but step 'we-miss-you' gives 10%" in p.message
        for p in errors
    ), errors


def test_images_without_alt_and_empty_links_are_caught(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    edit(
        folder,
        "en/our-promise.html.j2",
        "{% block body %}",
        '{% block body %}\n<img src="https://shop.example.com/x.png">\n<a href="#">here</a>',
    )
    errors = check_copy(folder).errors
    assert any(
        p.file == "en/our-promise.html.j2" and p.line == 6 and "no alt text" in p.message for p in errors
    ), errors
    assert any(
        p.file == "en/our-promise.html.j2" and p.line == 7 and "goes nowhere" in p.message for p in errors
    ), errors


def test_html_over_the_clipping_size_is_caught(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    edit(
        folder,
        "en/sorry-again.html.j2",
        "{% block body %}",
        '{% block body %}\n<p class="para">' + "padding " * 14000 + "</p>",
    )
    messages = [p.message for p in check_copy(folder).errors]
    assert any("Gmail clips" in m for m in messages), messages


def test_a_missing_step_template_is_an_error(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    (folder / "ru/sorry-again.subject.j2").unlink()
    errors = check_copy(folder).errors
    assert any(p.file == "ru/sorry-again.subject.j2" and "missing" in p.message for p in errors), errors


@pytest.mark.parametrize("step", ["we-miss-you", "sorry-again"])
def test_a_step_without_a_text_template_gets_its_text_from_the_html(
    template_copy: Callable[[], Path], step: str
) -> None:
    folder = template_copy()
    (folder / f"en/{step}.txt.j2").unlink()
    composer = make_composer(folder)
    assert check(composer, NOW).errors == []
    info = composer.step(step)
    letter = at_step(sample_letter("new", NOW), info.key, info.index, info.discount_percent, info.kind, NOW)
    composed = composer.compose(letter, NOW)
    assert "<td" not in composed.untracked_text
    assert "<a " not in composed.untracked_text
    assert composer.settings.shop.address_in(composed.locale) in composed.untracked_text
