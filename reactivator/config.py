"""Settings: loaded once from TOML, overridden by the environment, validated, frozen.

Precedence (highest first): REACTIVATOR_<SECTION>__<KEY> environment variables,
the TOML file (``--config PATH``, ``REACTIVATOR_CONFIG``, or ./config/reactivator.toml),
then the defaults below, which are the shipped config's values.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from datetime import time
from pathlib import Path
from typing import Any, ClassVar, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from reactivator.errors import ConfigError, redact_url

DEFAULT_CONFIG_PATH = Path("config/reactivator.toml")
SUPPORTED_LOCALES = ("en", "ru")
_STEP_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatabaseSettings(_Section):
    url: str = "sqlite:///reactivator.db"
    busy_timeout_seconds: float = Field(30.0, gt=0)
    sqlite_cache_mb: int = Field(64, ge=2, le=65_536)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if not v.startswith(("sqlite://", "postgresql")):
            raise ValueError(
                "use sqlite:///PATH for the embedded default or "
                "postgresql+psycopg://USER@HOST/DB for PostgreSQL"
            )
        return v


def _check_url(v: str) -> str:
    if not re.match(r"^https?://[^\s/]+", v):
        raise ValueError("give an absolute http(s) URL such as https://shop.example.com/sale")
    return v


class Localized(_Section):
    """A text in every supported language."""

    en: str
    ru: str


class MenuLink(_Section):
    label: Localized
    url: str

    _url = field_validator("url")(_check_url)


class SocialLink(_Section):
    name: str
    url: str
    icon_url: str

    _urls = field_validator("url", "icon_url")(_check_url)


class Product(_Section):
    """A product a letter may show; `category` matches customer tags."""

    name: str
    url: str
    image_url: str
    price: float = Field(ge=0)
    category: str = ""

    _urls = field_validator("url", "image_url")(_check_url)


def _default_menu() -> tuple[MenuLink, ...]:
    base = "https://shop.example.com"
    return (
        MenuLink(label=Localized(en="New in", ru="Новинки"), url=f"{base}/new"),
        MenuLink(label=Localized(en="Bestsellers", ru="Хиты"), url=f"{base}/best"),
        MenuLink(label=Localized(en="Sale", ru="Распродажа"), url=f"{base}/sale"),
        MenuLink(label=Localized(en="Delivery", ru="Доставка"), url=f"{base}/delivery"),
    )


def _default_social() -> tuple[SocialLink, ...]:
    icons = "https://shop.example.com/static/email/social"
    return (
        SocialLink(name="Instagram", url="https://instagram.com/demoshop", icon_url=f"{icons}/instagram.png"),
        SocialLink(name="Telegram", url="https://t.me/demoshop", icon_url=f"{icons}/telegram.png"),
        SocialLink(name="YouTube", url="https://youtube.com/@demoshop", icon_url=f"{icons}/youtube.png"),
    )


def _default_products() -> tuple[Product, ...]:
    base = "https://shop.example.com"
    catalog = (
        ("linen-shirt", "Linen shirt", 49.0, "clothes"),
        ("leather-sneakers", "Leather sneakers", 89.0, "shoes"),
        ("canvas-tote", "Canvas tote", 25.0, "bags"),
        ("merino-scarf", "Merino scarf", 35.0, "clothes"),
        ("trail-boots", "Trail boots", 129.0, "shoes"),
        ("weekend-bag", "Weekend bag", 99.0, "bags"),
    )
    return tuple(
        Product(
            name=name,
            url=f"{base}/p/{slug}",
            image_url=f"{base}/static/email/products/{slug}.jpg",
            price=price,
            category=category,
        )
        for slug, name, price, category in catalog
    )


class ShopSettings(_Section):
    name: str = "Demo Shop"
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    default_locale: Literal["en", "ru"] = "en"
    default_timezone: str = "UTC"
    website_url: str = "https://shop.example.com"
    # Shown in every letter's footer; anti-spam laws (CAN-SPAM, 38-FZ) require it.
    postal_address: str = "Demo Shop Ltd, 1 Market Street, Springfield, 12345"
    phone: str = "+1 555 0100"
    support_email: str = "care@shop.example.com"
    logo_url: str = "https://shop.example.com/static/email/logo.png"
    # Where the letters' banners live: {assets_url}/banner-<step>.jpg.
    assets_url: str = "https://shop.example.com/static/email"
    menu: tuple[MenuLink, ...] = Field(default_factory=_default_menu)
    social: tuple[SocialLink, ...] = Field(default_factory=_default_social)
    # Shown as product cards: the customer's categories (by tag) first, then these in order.
    products: tuple[Product, ...] = Field(default_factory=_default_products)
    products_per_letter: int = Field(3, ge=0, le=12)

    @field_validator("default_timezone")
    @classmethod
    def _iana_zone(cls, v: str) -> str:
        return _check_zone(v)

    _urls = field_validator("website_url", "logo_url", "assets_url")(_check_url)


class SignerSettings(_Section):
    """Who signs the letters; never the customer's own account manager."""

    name: str
    role: Localized
    photo_url: str

    _url = field_validator("photo_url")(_check_url)


def _default_signers() -> tuple[SignerSettings, ...]:
    photos = "https://shop.example.com/static/email/team"
    return (
        SignerSettings(
            name="Anna Petrova",
            role=Localized(en="Head of customer care", ru="Руководитель службы заботы"),
            photo_url=f"{photos}/anna.jpg",
        ),
        SignerSettings(
            name="Mark Ellis",
            role=Localized(en="Founder", ru="Основатель"),
            photo_url=f"{photos}/mark.jpg",
        ),
    )


class SenderSettings(_Section):
    from_name: str = "Demo Shop"
    from_email: str = "hello@shop.example.com"
    reply_to: str = "care@shop.example.com"
    # The mailto: half of List-Unsubscribe; empty means unsubscribe@<from_email's domain>.
    unsubscribe_email: str = ""

    @field_validator("from_email", "reply_to", "unsubscribe_email")
    @classmethod
    def _plain_address(cls, v: str) -> str:
        if not v:
            return v
        try:
            return validate_email(v, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"give a plain address like hello@shop.example.com ({exc})") from None

    @field_validator("from_name")
    @classmethod
    def _one_line(cls, v: str) -> str:
        if any(ch in v for ch in "\r\n"):
            raise ValueError("the sender's name must be one line")
        return v


class SegmentSettings(_Section):
    tiers: tuple[int, ...] = (90, 180, 360)

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("give at least one tier, e.g. [90, 180, 360]")
        if any(d <= 0 for d in v) or list(v) != sorted(set(v)):
            raise ValueError("tiers must be positive day counts in ascending order, e.g. [90, 180, 360]")
        return v


class ValueSettings(_Section):
    expected_years: float = Field(3.0, gt=0)
    a_share: float = Field(0.2, gt=0, lt=1)
    b_share: float = Field(0.3, ge=0, lt=1)

    @model_validator(mode="after")
    def _shares_fit(self) -> ValueSettings:
        if self.a_share + self.b_share > 1:
            raise ValueError("a_share + b_share must not exceed 1 (the rest is class C)")
        return self


class StepSettings(_Section):
    key: str
    from_days: int = Field(gt=0)
    discount_percent: int = Field(ge=0, le=90)

    @field_validator("key")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _STEP_KEY.match(v):
            raise ValueError("step keys are lowercase words joined by '-', e.g. we-miss-you")
        return v


class ApologySettings(_Section):
    key: str = "sorry-again"
    after_days: int = Field(90, gt=0)


def _default_steps() -> tuple[StepSettings, ...]:
    return (
        StepSettings(key="we-miss-you", from_days=90, discount_percent=10),
        StepSettings(key="did-we-say-something-wrong", from_days=180, discount_percent=15),
        StepSettings(key="our-promise", from_days=360, discount_percent=20),
    )


SURVEY_REASONS = ("too-expensive", "found-elsewhere", "quality", "delivery", "no-need", "other")


class CampaignSettings(_Section):
    name: str = "winback"
    # The one-click "Why did you stop buying?" answers offered in every letter;
    # their labels live in the templates (templates/emails/<locale>/_strings.j2).
    survey_reasons: tuple[str, ...] = SURVEY_REASONS
    # An open pixel and signed click-tracking links in this campaign's letters.
    tracking: bool = True
    include_classes: tuple[Literal["A", "B", "C"], ...] = ("A", "B", "C")
    exclude_tags: tuple[str, ...] = ("bad_payer",)
    include_tags: tuple[str, ...] = ()
    min_orders: int = Field(1, ge=1)
    min_revenue: float = Field(0.0, ge=0)
    min_gap_days: int = Field(14, ge=0)
    cap_letters: int = Field(1, ge=1)
    cap_days: int = Field(7, ge=0)
    quiet_hours: bool = True
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)
    coupon_expiry_days: int = Field(30, gt=0)
    coupon_prefix: str = Field("", pattern=r"^[A-Z0-9-]{0,8}$")
    attribution_days: int = Field(30, ge=0)
    cost_per_letter: float = Field(0.0, ge=0)
    steps: tuple[StepSettings, ...] = Field(default_factory=_default_steps)
    apology: ApologySettings = ApologySettings()

    @field_validator("survey_reasons")
    @classmethod
    def _reason_slugs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for reason in v:
            if not _STEP_KEY.match(reason):
                raise ValueError(
                    f"survey reason {reason!r} must be lowercase words joined by '-', e.g. too-expensive"
                )
        if len(set(v)) != len(v):
            raise ValueError("survey reasons must be unique")
        return v

    @field_validator("exclude_tags", "include_tags")
    @classmethod
    def _tag_words(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for tag in v:
            if not re.fullmatch(r"[a-z0-9_-]+", tag):
                raise ValueError(f"tag {tag!r} must be lowercase letters, digits, '_' or '-'")
        return v

    @model_validator(mode="after")
    def _ladder_shape(self) -> CampaignSettings:
        if not self.steps:
            raise ValueError("the ladder needs at least one step")
        days = [s.from_days for s in self.steps]
        if days != sorted(set(days)):
            raise ValueError(f"steps must escalate: from_days {days} must be strictly ascending")
        keys = [s.key for s in self.steps] + [self.apology.key]
        if len(keys) != len(set(keys)):
            raise ValueError(f"step keys must be unique, got {keys}")
        return self


class SmtpSettings(_Section):
    # The defaults reach a local relay or capture server without TLS; the
    # password comes only from REACTIVATOR_SMTP_PASSWORD in the environment.
    host: str = "127.0.0.1"
    port: int = Field(1025, ge=1, le=65_535)
    username: str = ""
    starttls: bool = False
    tls: bool = False
    timeout_seconds: float = Field(30.0, gt=0)
    # Persistent connections kept open and reused for many letters.
    pool_size: int = Field(8, ge=1, le=100)
    # Letters per second over all connections (0: no limit).
    messages_per_second: float = Field(0.0, ge=0)
    # Per recipient domain: letters in flight at once, and letters per second (0: no limit),
    # so that a big mailbox provider is not flooded.
    domain_concurrency: int = Field(4, ge=1)
    domain_messages_per_second: float = Field(0.0, ge=0)
    # A letter that keeps getting temporary failures is retried with growing,
    # jittered delays for this long after it was queued, then expires.
    retry_lifetime_hours: float = Field(72.0, gt=0)
    # After a policy rejection (5.7.x) nothing more goes to that domain for this long.
    domain_pause_minutes: float = Field(30.0, gt=0)
    # The envelope sender (where bounces go); empty: the sender's from_email.
    # "{token}" in it is replaced per letter (VERP), e.g. "bounces+{token}@shop.example.com".
    return_path: str = ""

    @model_validator(mode="after")
    def _one_tls_mode(self) -> SmtpSettings:
        if self.starttls and self.tls:
            raise ValueError("choose starttls (port 587) or tls (implicit TLS, port 465), not both")
        return self


class DkimSettings(_Section):
    # Sign every letter when a domain is set; the private key (PEM) comes only
    # from REACTIVATOR_DKIM_PRIVATE_KEY in the environment.
    domain: str = ""
    selector: str = "reactivator"


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8025, ge=1, le=65_535)
    # The public address of reactivator's web endpoints, as written into every
    # letter's tracking, unsubscribe and survey links.
    base_url: str = "http://127.0.0.1:8025"

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, v: str) -> str:
        return _check_url(v).rstrip("/")


class TemplateSettings(_Section):
    # The marketers' folder: a shared layout, then <locale>/<step>.{subject,html,txt}.j2.
    dir: Path = Path("templates/emails")
    # Gmail clips HTML past ~102 KB (the rest hides behind "[Message clipped]").
    max_html_kb: int = Field(100, ge=10, le=1000)


class ImportSettings(_Section):
    batch_size: int = Field(20_000, ge=1, le=200_000)


class SendingSettings(_Section):
    batch_size: int = Field(200, ge=1)
    lease_seconds: int = Field(300, gt=0)
    # Threads that build letters and talk to the database while the SMTP connections
    # wait. Python runs one thread at a time, so more threads only help when the
    # database is far away, and they slow the daemon's web endpoints while a batch goes out.
    threads: int = Field(1, ge=1, le=32)


class DaemonSettings(_Section):
    # A pass runs at start, then every this many seconds.
    pass_every_seconds: int = Field(900, ge=1)
    # The daily segmentation (dormant customers and money at stake per tier), at
    # this time of day in this zone.
    segments_at: time = time(6, 0)
    timezone: str = "UTC"
    # Between passes the sender looks this often for letters that became due
    # (quiet hours ending, retries, a paused domain resuming).
    poll_seconds: float = Field(10.0, gt=0)
    # How often the daemon says it is alive in the database (`reactivator status`).
    heartbeat_seconds: float = Field(15.0, gt=0)
    # On SIGTERM or Ctrl+C: how long letters in flight may take to finish.
    shutdown_grace_seconds: float = Field(30.0, gt=0)
    # Saved templates become a new version (checked, inlined once) without a restart.
    watch_templates: bool = True

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, v: str) -> str:
        return _check_zone(v)


class Settings(BaseSettings):
    """All of reactivator's settings; build with `load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="REACTIVATOR_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    database: DatabaseSettings = DatabaseSettings()
    shop: ShopSettings = ShopSettings()
    sender: SenderSettings = SenderSettings()
    segments: SegmentSettings = SegmentSettings()
    value: ValueSettings = ValueSettings()
    campaign: CampaignSettings = CampaignSettings()
    imports: ImportSettings = ImportSettings()
    sending: SendingSettings = SendingSettings()
    daemon: DaemonSettings = DaemonSettings()
    signers: tuple[SignerSettings, ...] = Field(default_factory=_default_signers)
    smtp: SmtpSettings = SmtpSettings()
    dkim: DkimSettings = DkimSettings()
    web: WebSettings = WebSettings()
    templates: TemplateSettings = TemplateSettings()

    _toml_path: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls._toml_path))
        return tuple(sources)


def _check_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("use an IANA time zone name such as Europe/Moscow or UTC") from exc
    return name


def resolve_config_path(explicit: Path | None) -> Path | None:
    """The config file to read: --config, then REACTIVATOR_CONFIG, then the default if present."""
    if explicit is not None:
        chosen, origin = explicit, "--config"
    elif os.environ.get("REACTIVATOR_CONFIG"):
        chosen, origin = Path(os.environ["REACTIVATOR_CONFIG"]), "REACTIVATOR_CONFIG"
    else:
        return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None
    if not chosen.is_file():
        raise ConfigError(
            [
                f"{origin} names {str(chosen)!r}, which is not a file. Point it at an existing "
                "TOML file, or copy config/reactivator.toml from the project as a start."
            ]
        )
    return chosen


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Load, validate and freeze settings; raise ConfigError naming key, value and fix."""
    toml_path = resolve_config_path(path)
    source = str(toml_path) if toml_path else "defaults and environment"

    class _Loaded(Settings):
        _toml_path = toml_path

    try:
        loaded = _Loaded(**overrides)
    except ValidationError as exc:
        raise ConfigError([_describe(err) for err in exc.errors()], source) from None
    except (OSError, ValueError) as exc:  # unreadable file or TOML syntax error
        raise ConfigError([f"cannot read the file: {exc}"], source) from None
    return Settings.model_construct(**{name: getattr(loaded, name) for name in Settings.model_fields})


def _describe(err: Any) -> str:
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc) or "(top level)"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown setting; check the spelling against config/reactivator.toml"
    value = err.get("input")
    if isinstance(value, str) and "://" in value:
        value = redact_url(value)
    shown = repr(value) if not isinstance(value, dict) else "(a table)"
    return f"{key} = {shown}: {message} ({_where_to_fix(err['loc'])})"


def _where_to_fix(loc: tuple[Any, ...]) -> str:
    """Where the user can set this key: the TOML section, and the environment variable that works."""
    names: list[str] = []
    for part in loc:
        if isinstance(part, int):  # inside a list of tables: only the whole list can come from env
            break
        names.append(str(part))
    section = ".".join(names[:-1]) if len(names) > 1 and len(names) == len(loc) else ".".join(names)
    env = "REACTIVATOR_" + "__".join(n.upper() for n in names)
    if len(names) < len(loc):
        return f"fix it in [{section}] in the config file, or set {env} to the whole list as JSON"
    return f"set it in [{section or names[0]}] or via {env}"
