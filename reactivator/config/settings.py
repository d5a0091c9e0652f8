"""The root of the settings: every section, and where their values come from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from reactivator.config.campaign import CampaignSettings, CouponSettings, SegmentSettings, ValueSettings
from reactivator.config.delivery import DeliverySettings, DkimSettings, SendingSettings, SmtpSettings
from reactivator.config.feedback import FeedbackSettings
from reactivator.config.renamed import move_renamed
from reactivator.config.service import (
    ConsoleSettings,
    DaemonSettings,
    DatabaseSettings,
    ImportSettings,
    PrivacySettings,
    TemplateSettings,
    WebSettings,
)
from reactivator.config.shop import SenderSettings, ShopSettings, SignerSettings, default_signers


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
    coupons: CouponSettings = CouponSettings()
    imports: ImportSettings = ImportSettings()
    sending: SendingSettings = SendingSettings()
    daemon: DaemonSettings = DaemonSettings()
    signers: tuple[SignerSettings, ...] = Field(default_factory=default_signers)
    delivery: DeliverySettings = DeliverySettings()
    smtp: SmtpSettings = SmtpSettings()
    dkim: DkimSettings = DkimSettings()
    feedback: FeedbackSettings = FeedbackSettings()
    web: WebSettings = WebSettings()
    console: ConsoleSettings = ConsoleSettings()
    privacy: PrivacySettings = PrivacySettings()
    templates: TemplateSettings = TemplateSettings()

    _toml_path: ClassVar[Path | None] = None

    @model_validator(mode="after")
    def _console_apart_from_the_endpoints(self) -> Settings:
        # The letters' links reach [web] from anywhere; the console is for the shop alone.
        if self.console.port == self.web.port:
            raise ValueError(
                f"console.port = {self.console.port} is the port of the public endpoints ([web] port): "
                "give the console a port of its own (set it in [console] or via REACTIVATOR_CONSOLE__PORT)"
            )
        return self

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
        # Each source's old keys move within that source, so an old key in the environment
        # still wins over the new one in the file, as the environment always does.
        return tuple(_Renaming(settings_cls, source) for source in sources)


class _Renaming(PydanticBaseSettingsSource):
    """A source whose values are read with the keys that moved put in their new place."""

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self.inner = inner

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return move_renamed(self.inner())
