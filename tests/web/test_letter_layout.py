"""The shipped letters as readers see them, in a real headless Chromium: the call to action on the
first screen of a phone and of a desktop, the apology as a plain letter, and a letter that still
reads with images off. Screenshots are kept (REACTIVATOR_SCREENSHOTS) to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reactivator.config.demo_images import write_local
from reactivator.render.samples import sample_at
from tests.render.conftest import NOW, make_composer
from tests.web.test_preview_page import screenshot

PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
PROMOTIONAL = ("we-miss-you", "did-we-say-something-wrong", "our-promise")


def letter_file(tmp_path: Path, locale: str, step: str, sample: str = "long-name") -> Path:
    composer = make_composer()
    composed = composer.compose(sample_at(sample, composer.step(step), NOW), NOW, locale=locale)
    path = tmp_path / f"{locale}-{step}.html"
    path.write_text(write_local(composed.html, tmp_path), encoding="utf-8")  # the demo shop's pictures
    return path


@pytest.mark.parametrize("locale", ["en", "ru"])
@pytest.mark.parametrize("step", PROMOTIONAL)
def test_the_call_to_action_is_on_the_first_screen(
    browser: Any, tmp_path: Path, locale: str, step: str
) -> None:
    path = letter_file(tmp_path, locale, step)
    for size, name in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page = browser.new_page(viewport=size)
        page.goto(path.as_uri())
        box = page.locator("a.hero-button").bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= size["height"], (name, box)
        assert (
            page.locator("img.logo-img").get_attribute("alt")
            == {"en": "Demo Shop", "ru": "Демо-магазин"}[locale]
        )
        screenshot(page, tmp_path, f"{locale}-{step}-{name}")
        page.close()


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_the_apology_is_a_plain_letter_with_its_signature(browser: Any, tmp_path: Path, locale: str) -> None:
    path = letter_file(tmp_path, locale, "sorry-again")
    page = browser.new_page(viewport=PHONE)
    page.goto(path.as_uri())
    for promotional in (".banner", ".menu", ".card", ".offer", ".hero-button", ".social"):
        assert page.locator(promotional).count() == 0, promotional
    assert page.locator(".signature img.photo").count() == 1
    first_answer = page.locator("a.survey-link").first.bounding_box()
    assert first_answer is not None
    assert first_answer["y"] < PHONE["height"]  # what the apology asks is on the first screen
    screenshot(page, tmp_path, f"{locale}-sorry-again-phone")


def test_with_images_off_the_letter_keeps_its_shape_and_says_what_is_missing(
    browser: Any, tmp_path: Path
) -> None:
    path = letter_file(tmp_path, "en", "our-promise")
    page = browser.new_page(viewport=DESKTOP)
    page.route("**/*.svg", lambda route: route.abort())  # as a mail client with images blocked
    page.goto(path.as_uri())
    cards = page.locator("img.card-img")
    assert cards.count() == 3
    for i in range(cards.count()):
        box = cards.nth(i).bounding_box()
        assert box is not None
        assert box["height"] >= 100, box  # the card keeps its place, no thin grey strip
        assert cards.nth(i).get_attribute("alt")  # and names the product
    assert page.locator("img.logo-img").get_attribute("alt") == "Demo Shop"
    decorative = [page.locator("img.social-icon").nth(i).get_attribute("alt") for i in range(3)]
    assert decorative == ["", "", ""]  # the network's name is the link's text already
    assert page.locator("img.banner-img").get_attribute("alt") == ""  # the headline says it
    screenshot(page, tmp_path, "en-our-promise-images-off")
