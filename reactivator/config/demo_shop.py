"""The shipped content: the demo shop's menu, social links, products, signers and ladder.

Plain data, so the schema can use it as defaults without importing anything
back; `config/reactivator.toml` spells out the same values.
"""

from __future__ import annotations

from typing import Any

_SITE = "https://shop.example.com"
ASSETS = f"{_SITE}/static/email"  # the demo shop's pictures (drawn by config/demo_images.py)

MENU: tuple[dict[str, Any], ...] = (
    {"label": {"en": "New in", "ru": "Новинки"}, "url": f"{_SITE}/new"},
    {"label": {"en": "Bestsellers", "ru": "Хиты"}, "url": f"{_SITE}/best"},
    {"label": {"en": "Sale", "ru": "Распродажа"}, "url": f"{_SITE}/sale"},
    {"label": {"en": "Delivery", "ru": "Доставка"}, "url": f"{_SITE}/delivery"},
)

SOCIAL: tuple[dict[str, Any], ...] = tuple(
    {"name": name, "url": url, "icon_url": f"{ASSETS}/social/{icon}.png"}
    for name, url, icon in (
        ("Instagram", "https://instagram.com/demoshop", "instagram"),
        ("Telegram", "https://t.me/demoshop", "telegram"),
        ("YouTube", "https://youtube.com/@demoshop", "youtube"),
    )
)

# (slug, English name, Russian name, price, category): the demo's catalog, and the products
# a shop without a catalog shows.
CATALOG: tuple[tuple[str, str, str, float, str], ...] = (
    ("linen-shirt", "Linen shirt", "Льняная рубашка", 49.0, "clothes"),
    ("leather-sneakers", "Leather sneakers", "Кожаные кеды", 89.0, "shoes"),
    ("canvas-tote", "Canvas tote", "Холщовая сумка", 25.0, "bags"),
    ("merino-scarf", "Merino scarf", "Шарф из мериноса", 35.0, "clothes"),
    ("trail-boots", "Trail boots", "Треккинговые ботинки", 129.0, "shoes"),
    ("weekend-bag", "Weekend bag", "Дорожная сумка", 99.0, "bags"),
)

PRODUCTS: tuple[dict[str, Any], ...] = tuple(
    {
        "name": {"en": name, "ru": name_ru},
        "url": f"{_SITE}/p/{slug}",
        "image_url": f"{ASSETS}/products/{slug}.jpg",
        "price": price,
        "category": category,
    }
    for slug, name, name_ru, price, category in CATALOG
)

SIGNERS: tuple[dict[str, Any], ...] = (
    {
        "name": {"en": "Anna Petrova", "ru": "Анна Петрова"},
        "role": {"en": "Head of customer care", "ru": "Руководитель службы заботы"},
        "photo_url": f"{ASSETS}/team/anna.jpg",
    },
    {
        "name": {"en": "Mark Ellis", "ru": "Марк Эллис"},
        "role": {"en": "Founder", "ru": "Основатель"},
        "photo_url": f"{ASSETS}/team/mark.jpg",
    },
)

LADDER: tuple[dict[str, Any], ...] = (
    {"key": "we-miss-you", "from_days": 90, "discount_percent": 10},
    {"key": "did-we-say-something-wrong", "from_days": 180, "discount_percent": 15},
    {"key": "our-promise", "from_days": 360, "discount_percent": 20},
)

SURVEY_REASONS = ("too-expensive", "found-elsewhere", "quality", "delivery", "no-need", "other")
