"""Segments (who is dormant, and what they are worth) and the campaign's results."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from reactivator.core.returns import discount_cost_cents, romi
from reactivator.core.value import ClassCutoffs, lifetime_value_cents
from reactivator.db.reports import StepFigures, campaign_figures, dormant_tiers, returned_and_active
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


@dataclass(frozen=True, slots=True)
class StepReport:
    """One step's letters, returns, money and the discounts its coupons cost."""

    step_key: str
    queued: int
    sent: int
    cancelled: int
    failed: int
    returned: int
    return_revenue_cents: int
    revenue_since_return_cents: int
    discount_cents: int


@dataclass(frozen=True)
class CampaignReport:
    campaign: str
    currency: str
    steps: list[StepReport]
    returned_without_letter: int
    letters_sent: int
    returned: int
    revenue_since_return_cents: int
    return_revenue_cents: int
    discount_cents: int
    letter_cost_cents: int
    cost_cents: int
    romi: float | None
    notes: list[str] = field(default_factory=list)


def campaign_report(app: App) -> CampaignReport:
    """Per step: queued, sent, returned, revenue, discounts; per campaign: cost and ROMI."""
    with app.db.read() as conn:
        figures = campaign_figures(conn, app.campaign)
    discounts_by_step: dict[str, int] = defaultdict(int)
    for coupon in figures.coupon_orders:
        discounts_by_step[coupon.step_key] += discount_cost_cents(coupon.paid_cents, coupon.discount_percent)
    order = [step.key for step in app.policy.all_steps()]
    removed = [k for k in [*figures.steps, *discounts_by_step] if k not in order]  # since taken out of config
    order += list(dict.fromkeys(removed))
    steps = [
        StepReport(**asdict(figures.steps.get(k, StepFigures(k))), discount_cents=discounts_by_step[k])
        for k in order
    ]
    sent = sum(s.sent for s in steps)
    per_letter = round(app.settings.campaign.cost_per_letter * 100)
    discounts = sum(s.discount_cents for s in steps)
    cost = discounts + sent * per_letter
    revenue = sum(s.revenue_since_return_cents for s in steps)
    return CampaignReport(
        campaign=app.campaign,
        currency=app.settings.shop.currency,
        steps=steps,
        returned_without_letter=figures.returned_without_letter,
        letters_sent=sent,
        returned=sum(s.returned for s in steps),
        revenue_since_return_cents=revenue,
        return_revenue_cents=sum(s.return_revenue_cents for s in steps),
        discount_cents=discounts,
        letter_cost_cents=sent * per_letter,
        cost_cents=cost,
        romi=romi(revenue, cost),
        notes=[] if cost else ["ROMI needs a cost: set campaign.cost_per_letter, or wait for coupon orders"],
    )
