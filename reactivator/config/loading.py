"""Loading the settings once: which file, then the environment over it, validated and frozen.

Precedence (highest first): REACTIVATOR_<SECTION>__<KEY> environment variables,
the TOML file (``--config PATH``, ``REACTIVATOR_CONFIG``, or ./config/reactivator.toml),
then the defaults of the schema, which are the shipped config's values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reactivator.config.messages import describe, missing_file
from reactivator.config.settings import Settings
from reactivator.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/reactivator.toml")


def resolve_config_path(explicit: Path | None) -> Path | None:
    """The config file to read: --config, then REACTIVATOR_CONFIG, then the default if present."""
    if explicit is not None:
        chosen, origin = explicit, "--config"
    elif os.environ.get("REACTIVATOR_CONFIG"):
        chosen, origin = Path(os.environ["REACTIVATOR_CONFIG"]), "REACTIVATOR_CONFIG"
    else:
        return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None
    if not chosen.is_file():
        raise ConfigError([missing_file(origin, str(chosen))])
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
        raise ConfigError([describe(err) for err in exc.errors()], source) from None
    except (OSError, ValueError) as exc:  # unreadable file or TOML syntax error
        raise ConfigError([f"cannot read the file: {exc}"], source) from None
    return Settings.model_construct(**{name: getattr(loaded, name) for name in Settings.model_fields})
