"""The holdout report: per tier, per value class and overall, what the letters caused.

Every enrollment made while a holdout ran is one unit. Its outcome is every
order its customer placed in its window (core/attribution.py), whatever they
opened or clicked: returned if there was one, and the money they paid. The
treatment and control arms are compared by service/reporting/lift.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from reactivator.core.attribution import Watched, in_window, window_end
from reactivator.core.model import Arm, EnrollmentKind, Policy
from reactivator.core.returns import discount_cost_cents
from reactivator.db.outcomes import EnrollmentRow, OrderRow
from reactivator.service.reporting.lift import ArmOutcome, Comparison, arm_outcome, compare


@dataclass(frozen=True, slots=True)
class Outcome:
    """One enrollment, measured over its window."""

    enrollment: EnrollmentRow
    returned: bool
    revenue_cents: int
    discount_cents: int  # what the coupons it used cost the shop
    letters_sent: int
    days_to_return: float | None = None  # from enrolment to the first order in the window


@dataclass(frozen=True)
class GroupLift:
    """Treatment against control for one group of enrollments (a tier, a class, all of them)."""

    label: str
    treatment: ArmOutcome
    control: ArmOutcome
    comparison: Comparison
    discount_cents: int  # the treatment's coupon discounts within its windows
    letter_cost_cents: int  # the treatment's letters sent, at campaign.cost_per_letter
    incremental_romi: float | None  # (incremental revenue - discounts - letters) / (discounts + letters)
    tier: int | None = None
    value_class: str | None = None


@dataclass(frozen=True)
class ReturnCurve:
    """The share of each arm's enrolled customers who had come back, by days since they enrolled."""

    days: list[int]
    treatment: list[float]
    control: list[float]


CURVE_STEP_DAYS = 7
CURVE_DAYS = 182


def return_curve(outcomes: list[Outcome], until: datetime) -> ReturnCurve:
    """Per arm, the share back by each day since enrolment (Kaplan-Meier, statsmodels).

    An enrollment not back yet counts only for as long as it has been watched, so
    a pass made yesterday does not drag the share at day 60 down.
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    observed = {o: (until - o.enrollment.enrolled_at) / timedelta(days=1) for o in outcomes}
    shortest = min(
        max((observed[o] for o in outcomes if o.enrollment.arm is arm), default=0.0) for arm in Arm
    )
    days = list(range(0, min(CURVE_DAYS, int(shortest)) + 1, CURVE_STEP_DAYS))
    shares: dict[Arm, list[float]] = {}
    for arm in Arm:
        mine = [o for o in outcomes if o.enrollment.arm is arm]
        times = [o.days_to_return if o.days_to_return is not None else observed[o] for o in mine]
        back = [o.days_to_return is not None for o in mine]
        if not any(back):
            shares[arm] = [0.0] * len(days)
            continue
        fit = SurvfuncRight(np.asarray(times, dtype=float), np.asarray(back, dtype=int))
        steps, staying = np.asarray(fit.surv_times), np.asarray(fit.surv_prob)
        shares[arm] = [
            round(1 - float(staying[steps <= d][-1]) if (steps <= d).any() else 0.0, 4) for d in days
        ]
    return ReturnCurve(days, shares[Arm.TREATMENT], shares[Arm.CONTROL])


@dataclass(frozen=True)
class HoldoutReport:
    percent: float  # the share configured now
    tiers: list[GroupLift]  # the ladder's enrollments by the step they entered at
    apology: GroupLift | None  # the lost-twice, who have a holdout of their own
    overall: GroupLift | None
    classes: list[GroupLift]  # by value class at enrolment (with --detail)
    outside: int  # enrollments in the period made while no holdout ran
    curve: ReturnCurve | None = None


def outcome_of(
    row: EnrollmentRow,
    orders: Iterable[OrderRow],
    letters_sent: int,
    policy: Policy,
    attribution: Callable[[Watched, datetime], datetime],
    until: datetime,
) -> Outcome:
    watched = Watched(row.kind, row.enrolled_at, row.dormant_since, row.next_enrolled_at)
    end = attribution(watched, until)
    counted = [o for o in orders if in_window(o.placed_at, watched, end)]
    return Outcome(
        enrollment=row,
        returned=bool(counted),
        revenue_cents=sum(o.amount_cents for o in counted),
        discount_cents=sum(discount_cost_cents(o.amount_cents, o.discount_percent) for o in counted),
        letters_sent=letters_sent,
        days_to_return=(counted[0].placed_at - row.enrolled_at) / timedelta(days=1) if counted else None,
    )


def measure(
    rows: list[EnrollmentRow],
    orders: dict[int, list[OrderRow]],
    sent: dict[int, int],
    policy: Policy,
    attribution_days: int,
    until: datetime,
) -> list[Outcome]:
    """The outcome of every enrollment in `rows` that belongs to an arm."""
    window = timedelta(days=attribution_days)

    def ends(watched: Watched, upto: datetime) -> datetime:
        return window_end(watched, policy, window, upto)

    return [
        outcome_of(r, orders.get(r.customer_id, ()), sent.get(r.id, 0), policy, ends, until)
        for r in rows
        if r.arm is not None
    ]


def group(label: str, outcomes: list[Outcome], cost_per_letter_cents: int, **where: object) -> GroupLift:
    """Compare the arms of these outcomes."""
    arms: dict[Arm, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        assert o.enrollment.arm is not None
        arms[o.enrollment.arm].append(o)
    treated, held = arms[Arm.TREATMENT], arms[Arm.CONTROL]
    treatment = arm_outcome([o.returned for o in treated], [o.revenue_cents for o in treated])
    control = arm_outcome([o.returned for o in held], [o.revenue_cents for o in held])
    comparison = compare(treatment, control)
    discounts = sum(o.discount_cents for o in treated)
    letters = sum(o.letters_sent for o in treated) * cost_per_letter_cents
    cost = discounts + letters
    incremental = comparison.incremental_revenue_cents
    romi = (incremental.value - cost) / cost if incremental is not None and cost > 0 else None
    return GroupLift(
        label=label,
        treatment=treatment,
        control=control,
        comparison=comparison,
        discount_cents=discounts,
        letter_cost_cents=letters,
        incremental_romi=romi,
        tier=where.get("tier"),  # type: ignore[arg-type]
        value_class=where.get("value_class"),  # type: ignore[arg-type]
    )


def holdout_report(
    outcomes: list[Outcome],
    policy: Policy,
    percent: float,
    cost_per_letter_cents: int,
    outside: int,
    until: datetime,
) -> HoldoutReport:
    """Per entry tier, for the apology, per value class and overall."""
    ladder = [o for o in outcomes if o.enrollment.kind is EnrollmentKind.LADDER]
    by_tier: dict[int, list[Outcome]] = defaultdict(list)
    for o in ladder:
        by_tier[o.enrollment.entry_step].append(o)
    tiers = []
    for index in sorted(by_tier):
        days = policy.steps[index].from_days if index < len(policy.steps) else None
        label = f"{days}+ days" if days is not None else f"step {index + 1} (since removed)"
        tiers.append(group(label, by_tier[index], cost_per_letter_cents, tier=days))
    apology_outcomes = [o for o in outcomes if o.enrollment.kind is EnrollmentKind.APOLOGY]
    by_class: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_class[o.enrollment.value_class.value if o.enrollment.value_class else "?"].append(o)
    return HoldoutReport(
        percent=percent,
        tiers=tiers,
        apology=group("lost twice (apology)", apology_outcomes, cost_per_letter_cents)
        if apology_outcomes
        else None,
        overall=group("all enrolled", outcomes, cost_per_letter_cents) if outcomes else None,
        classes=[
            group(f"class {c}", by_class[c], cost_per_letter_cents, value_class=c) for c in sorted(by_class)
        ],
        outside=outside,
        curve=return_curve(outcomes, until) if outcomes else None,
    )
