"""Settings: loaded once from TOML, overridden by the environment, validated, frozen.

schema      the sections (shop, campaign, delivery, service) under `settings.Settings`
demo_shop   the shipped content the defaults come from
loading     which file, the environment over it, `load_settings`
renamed     keys that moved, still read with a warning naming the new key
messages    the wording of errors: key, value, fix
"""

from reactivator.config.campaign import ApologySettings, CampaignSettings, StepSettings
from reactivator.config.delivery import DeliverySettings, DkimSettings, SendingSettings, SmtpSettings
from reactivator.config.loading import DEFAULT_CONFIG_PATH, load_settings, resolve_config_path
from reactivator.config.service import DatabaseSettings, WebSettings
from reactivator.config.settings import Settings
from reactivator.config.shop import Localized, SenderSettings, ShopSettings, SignerSettings

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ApologySettings",
    "CampaignSettings",
    "DatabaseSettings",
    "DeliverySettings",
    "DkimSettings",
    "Localized",
    "SenderSettings",
    "SendingSettings",
    "Settings",
    "ShopSettings",
    "SignerSettings",
    "SmtpSettings",
    "StepSettings",
    "WebSettings",
    "load_settings",
    "resolve_config_path",
]
