"""What the campaign earned (per step and overall) and what it caused (against the holdout)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime

from reactivator.core.model import Arm, EnrollmentKind, EnrollmentStatus
from reactivator.core.returns import discount_cost_cents, romi
from reactivator.db.outcomes import (
    SurveyCount,
    enrollments_between,
    letters_sent,
    orders_since,
    survey_counts,
)
from reactivator.db.reports import CampaignFigures, StepFigures, campaign_figures
from reactivator.db.step_activity import StepActivity, step_activity
from reactivator.service.app import App
from reactivator.service.reporting.after_return import AfterReturn, after_return
from reactivator.service.reporting.holdout import HoldoutReport, holdout_report, measure


@dataclass(frozen=True, slots=True)
class StepReport:
    """One step's letters, what people did with them, who came back, the money and its cost."""

    step_key: str
    queued: int
    sent: int
    cancelled: int
    failed: int
    returned: int
    return_revenue_cents: int
    revenue_since_return_cents: int
    discount_cents: int
    held: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    opened_by_machines: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    refused_by_policy: int = 0  # of the bounced: the receiver refused the sender, not the address
    complained: int = 0  # marked as spam
    returned_with_code: int = 0
    returned_without_code: int = 0
    letter_cost_cents: int = 0
    cost_cents: int = 0
    romi: float | None = None


@dataclass(frozen=True, slots=True)
class SurveyAnswers:
    """How often each reason was given, per the letter's step and the customer's entry tier."""

    reason: str
    step_key: str
    tier: str  # "90+ days", or "apology"
    answers: int


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
    since: datetime | None = None
    until: datetime | None = None
    holdout: HoldoutReport | None = None
    after_return: AfterReturn | None = None
    survey: list[SurveyAnswers] = field(default_factory=list)


def campaign_report(
    app: App,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> CampaignReport:
    """Per step and per campaign: letters, engagement, returns, money, ROMI; the holdout's lift;
    what the returned did afterwards; survey answers. `since`/`until` read a period (enrollments
    made, letters queued and returns made in it); `now` is when the report is read."""
    end = min(until, now) if until else now
    with app.db.read() as conn:
        figures = campaign_figures(conn, app.campaign, since, until)
        activity = step_activity(conn, app.campaign, since, until)
        rows = enrollments_between(conn, app.campaign, since, end)
        customers = {r.customer_id for r in rows}
        first_enrolled = min((r.enrolled_at for r in rows), default=None)
        returned_rows = [
            r
            for r in rows
            if r.status == EnrollmentStatus.RETURNED.value
            and r.arm is not Arm.CONTROL
            and r.return_placed_at is not None
        ]
        orders = orders_since(conn, customers, first_enrolled) if rows else {}
        history = orders_since(conn, {r.customer_id for r in returned_rows}, None) if returned_rows else {}
        sent = letters_sent(conn, app.campaign)
        answers = survey_counts(conn, app.campaign, since, end)
    per_letter = round(app.settings.campaign.cost_per_letter * 100)
    steps = _steps(app, figures, activity, per_letter)
    sent_total = sum(s.sent for s in steps)
    discounts = sum(s.discount_cents for s in steps)
    cost = discounts + sent_total * per_letter
    revenue = sum(s.revenue_since_return_cents for s in steps)
    holdout = None
    if any(r.arm is not None for r in rows) or app.policy.holdout_percent > 0:
        outcomes = measure(rows, orders, sent, app.policy, app.settings.campaign.attribution_days, end)
        outside = sum(1 for r in rows if r.arm is None)
        percent = app.policy.holdout_percent
        holdout = holdout_report(outcomes, app.policy, percent, per_letter, outside, end)
    return CampaignReport(
        campaign=app.campaign,
        currency=app.settings.shop.currency,
        steps=steps,
        returned_without_letter=figures.returned_without_letter,
        letters_sent=sent_total,
        returned=sum(s.returned for s in steps),
        revenue_since_return_cents=revenue,
        return_revenue_cents=sum(s.return_revenue_cents for s in steps),
        discount_cents=discounts,
        letter_cost_cents=sent_total * per_letter,
        cost_cents=cost,
        romi=romi(revenue, cost),
        notes=[] if cost else ["ROMI needs a cost: set campaign.cost_per_letter, or wait for coupon orders"],
        since=since,
        until=until,
        holdout=holdout,
        after_return=after_return(returned_rows, history, app.policy.earliest_days, end),
        survey=_survey(app, answers),
    )


def _steps(
    app: App, figures: CampaignFigures, activity: dict[str, StepActivity], per_letter: int
) -> list[StepReport]:
    discounts_by_step: dict[str, int] = defaultdict(int)
    for coupon in figures.coupon_orders:
        discounts_by_step[coupon.step_key] += discount_cost_cents(coupon.paid_cents, coupon.discount_percent)
    order = [step.key for step in app.policy.all_steps()]
    seen = [*figures.steps, *discounts_by_step, *activity]
    order += list(dict.fromkeys(k for k in seen if k not in order))  # steps since taken out of config
    steps = []
    for key in order:
        base = asdict(figures.steps.get(key, StepFigures(key)))
        act = activity.get(key, StepActivity())
        letter_cost = base["sent"] * per_letter
        cost = discounts_by_step[key] + letter_cost
        steps.append(
            StepReport(
                **base,
                discount_cents=discounts_by_step[key],
                held=act.held,
                delivered=base["sent"] - act.bounced_after_sending,
                opened=act.opened,
                clicked=act.clicked,
                opened_by_machines=act.opened_by_machines,
                unsubscribed=act.unsubscribed,
                bounced=act.bounced,
                refused_by_policy=act.refused_by_policy,
                complained=act.complained,
                returned_with_code=act.returned_with_code,
                returned_without_code=act.returned_without_code,
                letter_cost_cents=letter_cost,
                cost_cents=cost,
                romi=romi(base["revenue_since_return_cents"], cost),
            )
        )
    return steps


def _survey(app: App, answers: list[SurveyCount]) -> list[SurveyAnswers]:
    merged: dict[tuple[str, str, str], int] = defaultdict(int)
    for a in answers:
        if a.kind is EnrollmentKind.APOLOGY:
            tier = "apology"
        elif a.entry_step < len(app.policy.steps):
            tier = f"{app.policy.steps[a.entry_step].from_days}+ days"
        else:
            tier = f"step {a.entry_step + 1}"
        merged[(a.reason, a.step_key, tier)] += a.answers
    return [SurveyAnswers(r, s, t, n) for (r, s, t), n in sorted(merged.items())]
