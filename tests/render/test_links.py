"""Signed tokens and tracked links: nobody can forge, reuse or redirect them."""

from __future__ import annotations

import pytest

from reactivator.errors import InputError
from reactivator.render.links import LetterLinks, Tokens

OLD, NEW = "o" * 32, "n" * 32


def links(tracking: bool = True, keys: list[str] | None = None) -> LetterLinks:
    return LetterLinks(Tokens(keys or [NEW]), "https://t.example.com", 42, 7, tracking)


def test_a_token_round_trips_and_tampering_truncation_or_another_purpose_is_refused() -> None:
    tokens = Tokens([NEW])
    token = tokens.sign("unsubscribe", [7, 42])
    assert tokens.verify("unsubscribe", token) == [7, 42]
    payload, signature = token.rsplit(".", 1)
    forged = Tokens(["x" * 32]).sign("unsubscribe", [8, 42])
    for bad in (token[:-3], payload + ".AAAA" + signature[4:], forged, token.replace("W", "X", 1), ""):
        with pytest.raises(InputError):
            tokens.verify("unsubscribe", bad)
    with pytest.raises(InputError):
        tokens.verify("click", token)  # an unsubscribe token is no click token


def test_keys_rotate_new_letters_use_the_newest_and_old_links_keep_working() -> None:
    old_token = Tokens([OLD]).sign("unsubscribe", [1, 2])
    rotated = Tokens([NEW, OLD])
    assert rotated.verify("unsubscribe", old_token) == [1, 2]
    assert Tokens([NEW]).verify("unsubscribe", rotated.sign("unsubscribe", [1, 2])) == [1, 2]
    with pytest.raises(InputError):
        Tokens([NEW]).verify("unsubscribe", old_token)  # once the old key is dropped, so are its links


def test_short_keys_are_refused() -> None:
    with pytest.raises(InputError):
        Tokens(["short"])


def test_every_outside_link_goes_through_a_signed_click_and_a_pixel_is_added() -> None:
    letter = links()
    html = (
        '<html><body><a href="https://shop.example.com/sale?a=1&amp;b=2">Sale</a>'
        '<a href="https://t.example.com/u/abc">Unsubscribe</a>'
        '<a href="mailto:x@example.com">Mail</a></body></html>'
    )
    out = letter.track_html(html)
    assert "https://shop.example.com/sale" not in out
    assert 'href="https://t.example.com/u/abc"' in out  # our own links stay as they are
    assert 'href="mailto:x@example.com"' in out
    click = out.split('href="', 1)[1].split('"', 1)[0]
    token = click.removeprefix("https://t.example.com/c/")
    assert letter.tokens.verify("click", token) == [42, "https://shop.example.com/sale?a=1&b=2"]
    assert out.count("/o/") == 1
    assert out.index("/o/") < out.index("</body>")


def test_plain_text_links_are_tracked_without_swallowing_punctuation() -> None:
    out = links().track_text("See https://shop.example.com/new. Or https://t.example.com/u/abc")
    assert out.startswith("See https://t.example.com/c/")
    assert out.count(". Or ") == 1
    assert out.endswith("https://t.example.com/u/abc")


def test_tracking_switched_off_leaves_links_alone_and_adds_no_pixel() -> None:
    html = '<html><body><a href="https://shop.example.com/">Shop</a></body></html>'
    assert links(tracking=False).track_html(html) == html
    assert links(tracking=False).track_text("https://shop.example.com/") == "https://shop.example.com/"


def test_each_route_reads_back_only_the_tokens_made_for_it() -> None:
    from reactivator.core.routes import SURVEY, UNSUBSCRIBE

    tokens = Tokens([NEW])
    assert tokens.read_click(tokens.click(5, "https://shop.example.com/")).url == "https://shop.example.com/"
    assert tokens.read_open(tokens.open(5)) == 5
    made = tokens.for_customer(UNSUBSCRIBE, 7, 42)
    assert (
        tokens.read_customer(UNSUBSCRIBE, made).customer_id,
        tokens.read_customer(UNSUBSCRIBE, made).letter_id,
    ) == (7, 42)
    for wrong in (
        lambda: tokens.read_customer(SURVEY, made),  # another route's token
        lambda: tokens.read_click(tokens.sign("click", [5, "javascript:alert(1)"])),  # no web address
        lambda: tokens.read_open(tokens.sign("open", [5])),  # the wrong shape
    ):
        with pytest.raises(InputError):
            wrong()
