"""Returned means a new purchase: how an order affects a customer's enrollment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from reactivator.core.model import EnrollmentStatus


class OrderEffect(StrEnum):
    NONE = "none"  # history, or long after the campaign: no effect on the enrollment
    RETURNED = "returned"  # a new purchase: the customer is back
    LATE_DATA = "late_data"  # bought before we enrolled them; we enrolled on stale data


@dataclass(frozen=True, slots=True)
class EnrollmentSnapshot:
    status: EnrollmentStatus
    enrolled_at: datetime
    dormant_since: datetime  # their last purchase as known when they were enrolled
    ended_at: datetime | None


def order_effect(placed_at: datetime, enrollment: EnrollmentSnapshot, attribution: timedelta) -> OrderEffect:
    """What an order placed at `placed_at` means for the enrollment."""
    if enrollment.status is EnrollmentStatus.ACTIVE:
        if placed_at >= enrollment.enrolled_at:
            return OrderEffect.RETURNED
        if placed_at > enrollment.dormant_since:
            return OrderEffect.LATE_DATA
        return OrderEffect.NONE
    # The last letter still works for a while after the ladder ends.
    if (
        enrollment.status is EnrollmentStatus.EXHAUSTED
        and enrollment.ended_at is not None
        and enrollment.enrolled_at <= placed_at <= enrollment.ended_at + attribution
    ):
        return OrderEffect.RETURNED
    return OrderEffect.NONE


def discount_cost_cents(paid_cents: int, discount_percent: int) -> int:
    """What a discount cost us, given what the customer paid after it."""
    if discount_percent <= 0:
        return 0
    return round(paid_cents * discount_percent / (100 - discount_percent))


def romi(revenue_cents: int, cost_cents: int) -> float | None:
    """Return on marketing investment: (revenue - cost) / cost; None when nothing was spent."""
    if cost_cents <= 0:
        return None
    return (revenue_cents - cost_cents) / cost_cents
