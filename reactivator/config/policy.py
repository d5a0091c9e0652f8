"""The core's view of the campaign settings: one Policy, built in one place."""

from __future__ import annotations

from datetime import timedelta

from reactivator.config.settings import Settings
from reactivator.core.model import Policy, QuietHours, Step, ValueClass, ValueRules


def policy_from_settings(settings: Settings) -> Policy:
    """The ladder, the apology and the rules of who is mailed, as core reads them."""
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
        holdout_percent=c.holdout_percent,
    )
