"""Segments: who is dormant, per tier, and what they are worth (the money at stake)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reactivator.core.value import ClassCutoffs, lifetime_value_cents
from reactivator.db.reports import dormant_tiers, returned_and_active
from reactivator.db.value_classes import class_cutoffs
from reactivator.service.app import App


@dataclass(frozen=True, slots=True)
class Tier:
    label: str
    from_days: int
    to_days: int | None
    customers: int
    money_at_stake_cents: int
    reachable: int | None = None
    class_a: int | None = None
    class_b: int | None = None
    class_c: int | None = None


@dataclass(frozen=True)
class SegmentReport:
    now: datetime
    currency: str
    tiers: list[Tier]
    returned_active: int
    classes: ClassCutoffs | None
    expected_years: float

    @property
    def total_at_stake_cents(self) -> int:
        return sum(t.money_at_stake_cents for t in self.tiers)


def segments(app: App, now: datetime, *, detail: bool = False) -> SegmentReport:
    """Dormant customers per tier with the money at stake (the sum of their lifetime values).

    `detail` adds, per tier, how many can be mailed and the value classes.
    """
    days = app.settings.segments.tiers
    years = app.settings.value.expected_years
    cutoffs = tuple(now - timedelta(days=d) for d in days)
    with app.db.read() as conn:
        classes = (
            class_cutoffs(conn, app.settings.value.a_share, app.settings.value.b_share) if detail else None
        )
        rows = dormant_tiers(conn, cutoffs, classes)
        back = returned_and_active(conn, cutoffs[0])
    tiers = []
    for row in rows:
        upper = days[row.tier_index + 1] if row.tier_index + 1 < len(days) else None
        label = f"{days[row.tier_index]}-{upper - 1} days" if upper else f"{days[row.tier_index]}+ days"
        detail_c = (
            None if row.class_a is None or row.class_b is None else row.customers - row.class_a - row.class_b
        )
        tiers.append(
            Tier(
                label=label,
                from_days=days[row.tier_index],
                to_days=upper,
                customers=row.customers,
                money_at_stake_cents=lifetime_value_cents(row.annual_value_cents, years),
                reachable=row.reachable,
                class_a=row.class_a,
                class_b=row.class_b,
                class_c=detail_c,
            )
        )
    return SegmentReport(now, app.settings.shop.currency, tiers, back, classes, years)
