"""What a letter's context holds: the right signer, the right products, plain data only."""

from __future__ import annotations

from dataclasses import replace

from reactivator.render.composer import Composer
from reactivator.render.samples import at_step, sample_letter
from tests.render.conftest import NOW, make_composer


def test_the_account_manager_who_lost_the_customer_never_signs(shipped: Composer) -> None:
    letter = at_step(sample_letter("vip", NOW), "did-we-say-something-wrong", 1, 15, "ladder", NOW)
    for customer_id in range(1, 30):
        for manager in ("Anna Petrova", " anna petrova ", "Mark Ellis"):
            one = replace(letter, customer_id=customer_id, account_manager=manager)
            signer = shipped.context_for(one, NOW, "en")["signer"]
            assert signer["name"].casefold() != manager.strip().casefold()
    signers = {
        shipped.context_for(replace(letter, customer_id=n, account_manager=None), NOW, "en")["signer"]["name"]
        for n in range(1, 10)
    }
    assert signers == {"Anna Petrova", "Mark Ellis"}  # the others take turns


def test_when_every_signer_lost_the_customer_the_team_signs() -> None:
    composer = make_composer(
        signers=[
            {
                "name": "Anna Petrova",
                "role": {"en": "Care", "ru": "Забота"},
                "photo_url": "https://x.example/a.jpg",
            }
        ]
    )
    letter = at_step(
        replace(sample_letter("new", NOW), account_manager="Anna Petrova"),
        "we-miss-you",
        0,
        10,
        "ladder",
        NOW,
    )
    composed = composer.compose(letter, NOW)
    assert composed.context["signer"] is None
    assert "The Demo Shop team" in composed.untracked_text
    assert "Anna Petrova" not in composed.untracked_html


def test_without_a_catalog_the_configured_products_of_the_customers_categories_come_first(
    shipped: Composer,
) -> None:
    letter = at_step(sample_letter("cyrillic", NOW), "we-miss-you", 0, 10, "ladder", NOW)  # tagged "bags"
    names = [p["name"] for p in shipped.context_for(letter, NOW, "ru")["products"]]
    assert names == ["Холщовая сумка", "Дорожная сумка", "Льняная рубашка"]  # in Russian, as configured
    plain = at_step(sample_letter("new", NOW), "we-miss-you", 0, 10, "ladder", NOW)
    assert [p["name"] for p in shipped.context_for(plain, NOW, "en")["products"]] == [
        "Linen shirt",
        "Leather sneakers",
        "Canvas tote",
    ]


def test_the_apology_carries_no_offer_and_no_coupon(shipped: Composer) -> None:
    letter = at_step(sample_letter("new", NOW), "sorry-again", 0, 0, "apology", NOW)
    composed = shipped.compose(letter, NOW)
    assert composed.context["offer"] is None
    assert "%" not in composed.subject
    assert "SAMPLE-7Q4K9M" not in composed.untracked_html


def test_tracking_off_for_a_campaign_sends_plain_links_and_no_pixel() -> None:
    composer = make_composer(campaign={"tracking": False})
    letter = at_step(sample_letter("new", NOW), "we-miss-you", 0, 10, "ladder", NOW)
    composed = composer.compose(letter, NOW)
    assert "/c/" not in composed.html
    assert "/o/" not in composed.html
    assert 'href="https://shop.example.com/p/linen-shirt"' in composed.html
    assert "/u/" in composed.html  # unsubscribing still works
