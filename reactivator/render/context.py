"""The template context of one letter: plain data built from the letter and the settings.

Templates see dicts, lists, strings, numbers and dates only, never rows or
settings objects, so nothing a marketer writes can reach the database or
the configuration through an attribute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from reactivator.config import Settings, SignerSettings
from reactivator.config.shop import text_in
from reactivator.core.records import Letter
from reactivator.render.environment import Untrusted, plain
from reactivator.render.links import LetterLinks
from reactivator.render.message import one_line


def pick_signer(
    settings: Settings, customer_id: int, account_manager: str | None, locale: str
) -> dict[str, str] | None:
    """A signer who is not the customer's own account manager; the others take turns by customer.

    None when every signer is excluded: the letter is then signed by the shop's team.
    """
    lost_them = (account_manager or "").strip().casefold()
    candidates: list[SignerSettings] = [s for s in settings.signers if lost_them not in s.spellings()]
    if not candidates:
        return None
    signer = candidates[customer_id % len(candidates)]
    return {
        "name": text_in(signer.name, locale),
        "role": signer.role.text(locale),
        "photo_url": signer.photo_url,
    }


def pick_products(settings: Settings, letter: Letter, locale: str) -> list[dict[str, Any]]:
    """The products the pass chose from the customer's history (with why, for the preview); for a
    shop without a catalog, the configured ones: the customer's categories (by tag) first."""
    if letter.products:
        return [
            {
                "name": Untrusted(p.product.name_in(locale)),
                "url": Untrusted(p.product.url),
                "image_url": Untrusted(p.product.image_url or ""),
                "price": p.product.price_cents / 100,
                "category": Untrusted(p.product.category or ""),
                "why": p.why,
            }
            for p in letter.products[: settings.shop.products_per_letter]
        ]
    products = settings.shop.products
    mine = [p for p in products if p.category and p.category in letter.tags]
    rest = [p for p in products if p not in mine]
    chosen = (mine + rest)[: settings.shop.products_per_letter]
    return [
        {
            "name": text_in(p.name, locale),
            "url": p.url,
            "image_url": p.image_url,
            "price": p.price,
            "category": p.category,
            "why": "in your categories" if p in mine else "from the shop's list",
        }
        for p in chosen
    ]


def letter_context(
    letter: Letter, settings: Settings, locale: str, links: LetterLinks, now: datetime
) -> dict[str, Any]:
    """Everything a template may use for this letter, as plain data."""
    shop = settings.shop
    # What the shop's data says (names, addresses, products) is Untrusted: escaped in HTML,
    # whatever a template does with it.
    first = Untrusted(one_line(letter.first_name or ""))
    last = Untrusted(one_line(letter.last_name or ""))
    last_purchase = letter.last_purchase_at
    days_away = (now - last_purchase).days if last_purchase else 0
    offer = None
    if letter.discount_percent and letter.coupon_code:
        offer = {
            "percent": letter.discount_percent,
            "code": letter.coupon_code,
            "expires": letter.coupon_expires_at.date() if letter.coupon_expires_at else None,
        }
    utm = {
        "utm_source": "reactivator",
        "utm_medium": "email",
        "utm_campaign": settings.campaign.name,
        "utm_content": letter.step_key,
    }
    if offer:
        utm["coupon"] = str(offer["code"])
    signer = pick_signer(settings, letter.customer_id, letter.account_manager, locale)
    context = {
        "locale": locale,
        "today": now.date(),
        "customer": {
            "first_name": first,
            "last_name": last,
            "full_name": Untrusted(" ".join(p for p in (first, last) if p)),
            "email": Untrusted(letter.email or ""),
            "days_away": days_away,
            "months_away": days_away // 30,
            "last_purchase": last_purchase.date() if last_purchase else None,
            "orders_count": letter.orders_count,
        },
        "step": {
            "key": letter.step_key,
            "number": letter.step_index + 1,
            "kind": letter.kind,
            "discount_percent": letter.discount_percent,
        },
        "offer": offer,
        "shop": {
            "name": shop.name_in(locale),
            "url": shop.website_url,
            "currency": shop.currency,
            "postal_address": shop.address_in(locale),
            "phone": shop.phone,
            "support_email": shop.support_email,
            "logo_url": shop.logo_url,
            "assets_url": shop.assets_url,
            "menu": [{"label": m.label.text(locale), "url": m.url} for m in shop.menu],
            "social": [s.model_dump() for s in shop.social],
        },
        "products": pick_products(settings, letter, locale),
        "signer": signer,
        "links": {
            "cta": f"{shop.website_url}/?{urlencode(utm)}",
            "unsubscribe": links.unsubscribe,
            "survey": links.survey_page,
        },
        "survey": [{"reason": r, "url": links.survey(r)} for r in settings.campaign.survey_reasons],
    }
    return dict(plain(context))
