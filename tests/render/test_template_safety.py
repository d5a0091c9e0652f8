"""No template mistake, however broken or hostile, gets past the check or shows a traceback; customer
data stays escaped whatever a template does with it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from pathlib import Path

from reactivator.render.check import check, check_letter
from reactivator.render.samples import sample_at
from tests.render.conftest import NOW, make_composer
from tests.render.test_check import check_copy, edit

HOSTILE = "<script>alert(1)</script>"


def test_safe_on_customer_data_is_refused_at_its_line(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    edit(folder, "en/we-miss-you.html.j2", "{{ customer.first_name }}", "{{ customer.first_name|safe }}")
    edit(
        folder,
        "ru/our-promise.html.j2",
        "{% block body %}",
        "{% block body %}{% for p in products %}{% set n = p.name %}{{ (n ~ '')|safe }}{% endfor %}",
    )
    edit(folder, "en/sorry-again.html.j2", "{% block body %}", "{% block body %}{{ shop.name|safe }}")
    result = check_copy(folder)
    safe = [p for p in result.errors if "|safe" in p.message]
    assert {(p.file, "customer" in p.message or "n" in p.message) for p in safe} == {
        ("en/we-miss-you.html.j2", True),
        ("ru/our-promise.html.j2", True),
    }  # the shop's own name may be marked safe
    assert all(p.line > 0 for p in safe)


def test_customer_data_stays_escaped_even_under_safe(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    edit(folder, "en/we-miss-you.html.j2", "{{ customer.first_name }}", "{{ customer.first_name|safe }}")
    composer = make_composer(folder)
    letter = replace(sample_at("new", composer.step("we-miss-you"), NOW), first_name=HOSTILE)
    composed = composer.compose(letter, NOW)
    assert HOSTILE not in composed.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in composed.html


def test_huge_numbers_and_strings_are_refused_not_crashes(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    (folder / "en/we-miss-you.subject.j2").write_text("{{ 10**5000 }}\n", encoding="utf-8")
    edit(folder, "ru/we-miss-you.txt.j2", "{% block body %}", "{% block body %}{{ 'x' * 10**8 }}")
    errors = [str(p) for p in check_copy(folder).errors]
    assert any(e.startswith("en/we-miss-you.subject.j2:1:") and "too large" in e for e in errors), errors
    assert any(e.startswith("ru/we-miss-you.txt.j2:") and "not allowed" in e for e in errors), errors


def test_text_outside_the_blocks_of_a_child_template_is_named(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    path = folder / "en/our-promise.html.j2"
    lines = path.read_text(encoding="utf-8").rstrip("\n").splitlines()
    path.write_text("\n".join([*lines, "", "P.S. Call us any time!"]) + "\n", encoding="utf-8")
    problems = [p for p in check_copy(folder).errors if "never shown" in p.message]
    assert [(p.file, p.line) for p in problems] == [("en/our-promise.html.j2", len(lines) + 2)]


def test_an_english_error_is_counted_for_english_letters_only(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    edit(folder, "en/_strings.j2", "{%", "{% if %}{%")
    result = check_copy(folder)
    assert result.errors_for("en", "we-miss-you")
    assert not result.errors_for("ru", "we-miss-you")
    missing = folder / "ru/sorry-again.subject.j2"
    missing.unlink()
    problem = next(p for p in check_copy(folder).errors if p.file == "ru/sorry-again.subject.j2")
    assert str(problem).startswith("ru/sorry-again.subject.j2: error: missing")  # no ":0"


def test_a_ladder_that_stops_escalating_is_warned_about() -> None:
    from reactivator.config import load_settings

    steps = [s.model_dump() for s in load_settings(None).campaign.steps]
    steps[2]["discount_percent"] = 5
    composer = make_composer(campaign={"steps": steps})
    warnings = [p for p in check(composer, NOW).problems if p.level == "warning"]
    assert len(warnings) == 1
    assert "stops escalating" in warnings[0].message
    assert "our-promise" in warnings[0].file


def test_checking_one_letter_checks_only_its_files(template_copy: Callable[[], Path]) -> None:
    folder = template_copy()
    edit(folder, "en/we-miss-you.html.j2", "{{ customer.first_name }}", "{{ customer.frist_name }}")
    composer = make_composer(folder)
    assert check_letter(composer, NOW, "ru", "we-miss-you").errors == []
    assert check_letter(composer, NOW, "en", "our-promise").errors == []
    assert check_letter(composer, NOW, "en", "we-miss-you").errors


def test_a_name_that_looks_like_an_encoded_word_arrives_as_written() -> None:
    hidden = "=?utf-8?b?" + base64.b64encode(b"Bob\r\nBcc: evil@example.net").decode() + "?="
    composer = make_composer()
    letter = replace(sample_at("new", composer.step("we-miss-you"), NOW), first_name=hidden, last_name="")
    raw = composer.compose(letter, NOW).message.as_bytes()
    parsed = message_from_bytes(raw, policy=policy.compat32)  # raw headers: decoded once below, as clients do
    assert b"Bcc" not in raw.split(b"\r\n\r\n", 1)[0].replace(b"Bcc: evil", b"")
    for name in ("To", "Subject"):
        shown = str(make_header(decode_header(str(parsed.get(name, "")))))
        assert "\n" not in shown
        assert "Bcc: evil" not in shown
        assert name == "To" or hidden in shown  # the subject greets them by the name as written
