"""What the letters say about the shop: its name and contacts, menu, products, who signs and sends."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, RootModel, field_validator, model_validator

from reactivator.config import demo_shop
from reactivator.config.checks import check_plain_address, check_url, check_zone
from reactivator.config.section import Section
from reactivator.core.locales import DEFAULT_LOCALE, LOCALES


class Localized(RootModel[dict[str, str]]):
    """A text in every supported language, e.g. { en = "Sale", ru = "Распродажа" }."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _every_language(self) -> Localized:
        missing = [loc for loc in LOCALES if loc not in self.root]
        unknown = sorted(set(self.root) - set(LOCALES))
        if missing or unknown:
            wanted = ", ".join(LOCALES)
            found = f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"
            raise ValueError(f"give the text in each language ({wanted}): {found}")
        return self

    def text(self, locale: str) -> str:
        return self.root[locale]


def text_in(value: str | Localized, locale: str) -> str:
    """A name given once, or per language."""
    return value if isinstance(value, str) else value.text(locale)


class MenuLink(Section):
    label: Localized
    url: str

    _url = field_validator("url")(check_url)


class SocialLink(Section):
    name: str
    url: str
    icon_url: str

    _urls = field_validator("url", "icon_url")(check_url)


class Product(Section):
    """A product a letter may show (a shop without a catalog); `category` matches customer tags."""

    name: str | Localized
    url: str
    image_url: str
    price: float = Field(ge=0)
    category: str = ""

    _urls = field_validator("url", "image_url")(check_url)


def _defaults(model: type[Section], rows: tuple[dict[str, Any], ...]) -> Any:
    return lambda: tuple(model.model_validate(row) for row in rows)


class ShopSettings(Section):
    # The name, and below the postal address, once or per language: { en = "...", ru = "..." }.
    name: str | Localized = Localized({"en": "Demo Shop", "ru": "Демо-магазин"})
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    default_locale: str = DEFAULT_LOCALE
    default_timezone: str = "UTC"
    website_url: str = "https://shop.example.com"
    # Shown in every letter's footer; anti-spam laws (CAN-SPAM, 38-FZ) require it.
    postal_address: str | Localized = Localized(
        {
            "en": "Demo Shop Ltd, 1 Market Street, Springfield, 12345",
            "ru": "ООО «Демо-магазин», 123456, Москва, ул. Торговая, д. 1",
        }
    )
    phone: str = "+1 555 0100"
    support_email: str = "care@shop.example.com"
    logo_url: str = "https://shop.example.com/static/email/logo.png"
    # Where the letters' banners live: {assets_url}/banner-<step>.jpg.
    assets_url: str = "https://shop.example.com/static/email"
    menu: tuple[MenuLink, ...] = Field(default_factory=_defaults(MenuLink, demo_shop.MENU))
    social: tuple[SocialLink, ...] = Field(default_factory=_defaults(SocialLink, demo_shop.SOCIAL))
    # Shown as product cards: the customer's categories (by tag) first, then these in order.
    products: tuple[Product, ...] = Field(default_factory=_defaults(Product, demo_shop.PRODUCTS))
    products_per_letter: int = Field(3, ge=0, le=12)
    # The language of customers whose import gives none (shop exports), by their country
    # (ISO 3166 two-letter code); others get default_locale.
    locales_by_country: dict[str, str] = Field(
        default_factory=lambda: {"RU": "ru", "BY": "ru", "KZ": "ru", "KG": "ru"}
    )

    @field_validator("locales_by_country")
    @classmethod
    def _countries(cls, v: dict[str, str]) -> dict[str, str]:
        for country, locale in v.items():
            if not (len(country) == 2 and country.isalpha() and country.isupper()):
                raise ValueError(f"{country!r} is not a two-letter country code in capitals, e.g. RU")
            if locale not in LOCALES:
                raise ValueError(f"{country} = {locale!r}: use one of {', '.join(LOCALES)}")
        return v

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, v: str) -> str:
        if v not in LOCALES:
            raise ValueError(f"use one of the languages letters are written in: {', '.join(LOCALES)}")
        return v

    @field_validator("default_timezone")
    @classmethod
    def _iana_zone(cls, v: str) -> str:
        return check_zone(v)

    _urls = field_validator("website_url", "logo_url", "assets_url")(check_url)

    def name_in(self, locale: str | None = None) -> str:
        """The shop's name in `locale` (default: the shop's default language)."""
        return text_in(self.name, locale or self.default_locale)

    def address_in(self, locale: str | None = None) -> str:
        return text_in(self.postal_address, locale or self.default_locale)


class SignerSettings(Section):
    """Who signs the letters; never the customer's own account manager."""

    name: str | Localized  # once, or per language: { en = "Anna Petrova", ru = "Анна Петрова" }
    role: Localized
    photo_url: str

    _url = field_validator("photo_url")(check_url)

    def spellings(self) -> set[str]:
        """Every way the name is written, folded: an account manager matches any of them."""
        names = [self.name] if isinstance(self.name, str) else list(self.name.root.values())
        return {n.strip().casefold() for n in names}


def default_signers() -> tuple[SignerSettings, ...]:
    return tuple(SignerSettings.model_validate(row) for row in demo_shop.SIGNERS)


class SenderSettings(Section):
    """The From identity of the letters."""

    from_name: str = "Demo Shop"
    from_email: str = "hello@shop.example.com"
    reply_to: str = "care@shop.example.com"
    # The mailto: half of List-Unsubscribe; empty means unsubscribe@<from_email's domain>.
    unsubscribe_email: str = ""

    _addresses = field_validator("from_email", "reply_to", "unsubscribe_email")(check_plain_address)

    @field_validator("from_name")
    @classmethod
    def _one_line(cls, v: str) -> str:
        if any(ch in v for ch in "\r\n"):
            raise ValueError("the sender's name must be one line")
        return v

    @property
    def domain(self) -> str:
        """The From address's domain: Message-IDs and the default unsubscribe address use it."""
        return self.from_email.rpartition("@")[2]
