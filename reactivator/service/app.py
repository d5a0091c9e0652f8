"""Wiring: settings, the database and the campaign policy, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reactivator.config import Settings, load_settings
from reactivator.config.policy import policy_from_settings
from reactivator.core.model import Policy

if TYPE_CHECKING:
    from reactivator.db.engine import Database


@dataclass(frozen=True)
class App:
    settings: Settings
    db: Database
    policy: Policy

    @property
    def campaign(self) -> str:
        return self.settings.campaign.name

    @property
    def attribution(self) -> timedelta:
        return timedelta(days=self.settings.campaign.attribution_days)


def open_app(config_path: Path | None = None, *, require_schema: bool = True, **overrides: Any) -> App:
    """Load settings and connect; by default insist that the schema is current."""
    settings = load_settings(config_path, **overrides)
    return app_from_settings(settings, require_schema=require_schema)


def app_from_settings(settings: Settings, *, require_schema: bool = True) -> App:
    from reactivator.db.engine import Database  # here: commands that need no database skip SQLAlchemy

    db = Database(
        settings.database.url,
        busy_timeout_seconds=settings.database.busy_timeout_seconds,
        sqlite_cache_mb=settings.database.sqlite_cache_mb,
    )
    if require_schema:
        db.require_schema()
    return App(settings=settings, db=db, policy=policy_from_settings(settings))
