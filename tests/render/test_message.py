"""Every shipped letter on the wire: parsed back with the stdlib, headers and parts right."""

from __future__ import annotations

import re
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from reactivator.render.composer import Composed, Composer
from reactivator.render.samples import SAMPLE_NAMES, at_step, sample_letter
from tests.render.conftest import NOW, make_composer


def compose(composer: Composer, step_key: str, locale: str, sample: str) -> Composed:
    step = composer.step(step_key)
    letter = at_step(sample_letter(sample, NOW), step.key, step.index, step.discount_percent, step.kind, NOW)
    return composer.compose(letter, NOW, locale=locale)


def every_letter(composer: Composer) -> list[tuple[str, str, str]]:
    return [
        (s.key, loc, sample) for s in composer.steps() for loc in composer.locales for sample in SAMPLE_NAMES
    ]


def unix(text: str) -> str:
    """Line ends as Python sees them (the wire has CRLF; decoded bodies may keep it)."""
    return text.replace("\r\n", "\n")


def parse(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_every_letter_parses_back_with_its_headers_and_parts(shipped: Composer) -> None:
    for step_key, locale, sample in every_letter(shipped):
        composed = compose(shipped, step_key, locale, sample)
        raw = composed.message.as_bytes()
        where = f"{locale}/{step_key} for {sample}"
        assert raw.isascii(), where  # 7-bit clean: RFC 2047 headers, QP/base64 bodies
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998, where
        assert b"\n" not in raw.replace(b"\r\n", b""), where  # CRLF line ends only
        parsed = parse(raw)
        assert parsed.get_content_type() == "multipart/alternative", where
        parts = list(parsed.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"], where
        assert all(p.get_content_charset() == "utf-8" for p in parts), where
        assert unix(parts[0].get_content()) == unix(composed.text), where
        assert unix(parts[1].get_content()) == unix(composed.html), where
        # (.strip: the stdlib may fold right after "Subject:" and keep the fold's space on parsing)
        assert parsed["Subject"].strip() == composed.subject, where
        assert parsed["From"].addresses[0].display_name == "Demo Shop", where
        assert parsed["From"].addresses[0].addr_spec == "hello@shop.example.com", where
        assert parsed["Reply-To"] == "care@shop.example.com", where
        assert parsed["Message-ID"] == "<sample@reactivator.invalid>", where
        assert parsed["Date"].datetime == NOW, where
        assert [a.addr_spec for a in parsed["To"].addresses] == [composed.context["customer"]["email"]], where


def test_long_and_cyrillic_names_and_subjects_survive_folding() -> None:
    from reactivator.render.message import Envelope, build_message

    subject = "Виктория, простите, мы снова Вас подвели и очень хотим исправиться до конца этого года"
    name = "Максимилиана-Теодора Александрина Вольфшлегельштайнхаузенбергердорф"
    envelope = Envelope(
        "Демо Магазин",
        "hello@shop.example.com",
        "care@shop.example.com",
        "max@example.com",
        name,
        "<m@x>",
        "https://t.example.com/u/x",
        "u@x.example",
    )
    raw = build_message(envelope, subject, "text", "<p>html</p>", NOW).as_bytes()
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    parsed = parse(raw)
    assert parsed["Subject"].strip() == subject
    assert parsed["From"].addresses[0].display_name == "Демо Магазин"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["max@example.com"]  # too long a name: left out


def test_one_click_unsubscribe_headers_follow_rfc_8058(shipped: Composer) -> None:
    composed = compose(shipped, "we-miss-you", "en", "new")
    parsed = parse(composed.message.as_bytes())
    targets = re.findall(r"<([^>]+)>", parsed["List-Unsubscribe"])
    assert targets[0] == composed.context["links"]["unsubscribe"]
    assert targets[0].startswith("http://127.0.0.1:8025/u/")
    assert targets[1].startswith("mailto:unsubscribe@shop.example.com?subject=unsubscribe")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_long_public_url_never_turns_list_unsubscribe_into_an_encoded_word() -> None:
    composer = make_composer(
        web={"base_url": "https://mail.a-shop-with-a-rather-long-name.example.com/reactivator"}
    )
    raw = compose(composer, "we-miss-you", "en", "new").message.as_bytes()
    header = next(line for line in raw.split(b"\r\n") if line.startswith(b"List-Unsubscribe:"))
    assert b"=?" not in header
    assert b"https://mail.a-shop-with-a-rather-long-name" in header


def test_cyrillic_names_and_subjects_are_rfc_2047_encoded_and_decode_intact(shipped: Composer) -> None:
    composed = compose(shipped, "we-miss-you", "ru", "cyrillic")
    raw = composed.message.as_bytes()
    assert "Ольга".encode() not in raw
    assert b"=?utf-8?" in raw
    parsed = parse(raw)
    assert parsed["To"].addresses[0].display_name == "Ольга Иванова"
    assert "Ольга" in parsed["Subject"]


def test_a_hostile_name_is_harmless_in_every_part_and_header(shipped: Composer) -> None:
    for step in shipped.steps():
        for locale in shipped.locales:
            composed = compose(shipped, step.key, locale, "hostile")
            parsed = parse(composed.message.as_bytes())
            assert parsed["Bcc"] is None
            assert len(parsed.get_all("To") or []) == 1
            assert [a.addr_spec for a in parsed["To"].addresses] == ["jane.doe@example.com"]
            assert "\n" not in parsed["Subject"]
            assert "\r" not in parsed["Subject"]
            html = parsed.get_body(("html",)).get_content()
            assert "<script>" not in html
            assert "&lt;script&gt;" in html
            # Customer data is data: never evaluated as template code.
            assert "49" not in parsed["Subject"]


def test_the_message_id_comes_from_the_queued_letter(shipped: Composer) -> None:
    letter = at_step(sample_letter("new", NOW), "we-miss-you", 0, 10, "ladder", NOW)
    letter = replace(letter, message_id="<r.1.abc@shop.example.com>")
    first = shipped.compose(letter, NOW).message
    again = shipped.compose(letter, NOW).message
    assert first["Message-ID"] == again["Message-ID"] == "<r.1.abc@shop.example.com>"


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_the_customers_language_is_used_and_an_unknown_one_falls_back_to_the_default(
    shipped: Composer, locale: str
) -> None:
    letter = at_step(sample_letter("new", NOW), "we-miss-you", 0, 10, "ladder", NOW)
    assert shipped.compose(replace(letter, locale=locale), NOW).locale == locale
    assert shipped.compose(replace(letter, locale="de"), NOW).locale == "en"
    assert shipped.compose(replace(letter, locale=None), NOW).locale == "en"
