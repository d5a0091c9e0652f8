"""Wiring: settings, the database and the campaign policy, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from reactivator.config import Settings, load_settings
from reactivator.core.model import Policy, QuietHours, Step, ValueClass, ValueRules
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


def policy_from_settings(settings: Settings) -> Policy:
    """The core's view of the campaign settings."""
    c = settings.campaign
    return Policy(
        steps=tuple(Step(s.key, s.from_days, s.discount_percent) for s in c.steps),
        apology=Step(c.apology.key, c.apology.from_days, 0),
        rules=ValueRules(
            include_classes=frozenset(ValueClass(v) for v in c.include_classes),
            exclude_tags=frozenset(c.exclude_tags),
            include_tags=frozenset(c.include_tags),
            min_orders=c.min_orders,
            min_revenue_cents=round(c.min_revenue * 100),
        ),
        min_gap=timedelta(days=c.min_gap_days),
        cap_letters=c.cap_letters,
        cap_window=timedelta(days=c.cap_days),
        quiet_hours=QuietHours(c.quiet_start, c.quiet_end) if c.quiet_hours else None,
        default_timezone=settings.shop.default_timezone,
    )


def open_app(config_path: Path | None = None, *, require_schema: bool = True, **overrides: Any) -> App:
    """Load settings and connect; by default insist that the schema is current."""
    settings = load_settings(config_path, **overrides)
    return app_from_settings(settings, require_schema=require_schema)


def app_from_settings(settings: Settings, *, require_schema: bool = True) -> App:
    db = Database(
        settings.database.url,
        busy_timeout_seconds=settings.database.busy_timeout_seconds,
        sqlite_cache_mb=settings.database.sqlite_cache_mb,
    )
    if require_schema:
        db.require_schema()
    return App(settings=settings, db=db, policy=policy_from_settings(settings))
