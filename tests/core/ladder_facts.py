"""Facts and policies the ladder tests build on: a standard ladder, customers at a given age."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from reactivator.core.model import (
    ActiveEnrollment,
    CustomerFacts,
    EnrollmentKind,
    LadderState,
    Policy,
    Step,
    Subscription,
    ValueClass,
)

NOON = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)  # outside the default 21:00-09:00 quiet hours in UTC
LADDER = EnrollmentKind.LADDER
APOLOGY = EnrollmentKind.APOLOGY


def make_policy(**changes: Any) -> Policy:
    """Three steps at 90/180/360 days with 10/15/20%, an apology at 90 days with 0%."""
    policy = Policy(
        steps=(
            Step("we-miss-you", 90, 10),
            Step("did-we-say-something-wrong", 180, 15),
            Step("our-promise", 360, 20),
        ),
        apology=Step("sorry-again", 90, 0),
    )
    return replace(policy, **changes)


def no_pacing(**changes: Any) -> Policy:
    """The standard ladder with every pacing rule switched off."""
    return make_policy(min_gap=timedelta(0), cap_letters=10**9, quiet_hours=None, **changes)


def customer(now: datetime, days: float | None = 120, **changes: Any) -> CustomerFacts:
    """A subscribed, valuable customer whose last purchase was `days` days before `now`."""
    facts = CustomerFacts(
        subscription=Subscription.SUBSCRIBED,
        last_purchase_at=None if days is None else now - timedelta(days=days),
        orders_count=3,
        revenue_cents=30_000,
        value_class=ValueClass.A,
    )
    return replace(facts, **changes)


def lost_twice(now: datetime, days: float, enrolled_days_ago: float = 500, **changes: Any) -> CustomerFacts:
    """Went through the ladder (enrolled `enrolled_days_ago`), bought again `days` ago."""
    return customer(
        now,
        days,
        ladder_state=LadderState.LADDER,
        ladder_enrolled_at=now - timedelta(days=enrolled_days_ago),
        **changes,
    )


def in_ladder(now: datetime, days: float, next_step: int, kind: EnrollmentKind = LADDER) -> CustomerFacts:
    state = LadderState.APOLOGY if kind is APOLOGY else LadderState.LADDER
    return customer(
        now,
        days,
        ladder_state=state,
        ladder_enrolled_at=now - timedelta(days=days - 1),
        active=ActiveEnrollment(kind, next_step),
    )
