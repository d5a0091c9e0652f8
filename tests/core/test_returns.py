"""Returned means a new purchase: order effects on enrollments, discount cost and ROMI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reactivator.core.model import EnrollmentStatus
from reactivator.core.returns import (
    EnrollmentSnapshot,
    OrderEffect,
    discount_cost_cents,
    order_effect,
    romi,
)

ENROLLED = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
DORMANT_SINCE = ENROLLED - timedelta(days=100)
ENDED = ENROLLED + timedelta(days=300)
WINDOW = timedelta(days=30)
TICK = timedelta(microseconds=1)


def snapshot(status: EnrollmentStatus, ended_at: datetime | None = None) -> EnrollmentSnapshot:
    return EnrollmentSnapshot(
        status=status, enrolled_at=ENROLLED, dormant_since=DORMANT_SINCE, ended_at=ended_at
    )


ACTIVE = snapshot(EnrollmentStatus.ACTIVE)
EXHAUSTED = snapshot(EnrollmentStatus.EXHAUSTED, ended_at=ENDED)


# --- active enrollment ---


def test_order_after_enrollment_of_an_active_customer_is_a_return() -> None:
    assert order_effect(ENROLLED + timedelta(days=5), ACTIVE, WINDOW) is OrderEffect.RETURNED


def test_order_exactly_at_enrollment_is_a_return() -> None:
    assert order_effect(ENROLLED, ACTIVE, WINDOW) is OrderEffect.RETURNED


def test_order_between_dormant_since_and_enrollment_is_late_data() -> None:
    assert order_effect(ENROLLED - timedelta(days=3), ACTIVE, WINDOW) is OrderEffect.LATE_DATA


def test_order_just_before_enrollment_and_just_after_dormant_since_is_late_data() -> None:
    assert order_effect(ENROLLED - TICK, ACTIVE, WINDOW) is OrderEffect.LATE_DATA
    assert order_effect(DORMANT_SINCE + TICK, ACTIVE, WINDOW) is OrderEffect.LATE_DATA


def test_order_at_dormant_since_is_the_known_last_purchase_and_has_no_effect() -> None:
    assert order_effect(DORMANT_SINCE, ACTIVE, WINDOW) is OrderEffect.NONE


def test_order_older_than_dormant_since_is_history_with_no_effect() -> None:
    assert order_effect(DORMANT_SINCE - timedelta(days=400), ACTIVE, WINDOW) is OrderEffect.NONE


def test_active_enrollment_ignores_the_attribution_window() -> None:
    far_later = ENROLLED + timedelta(days=3000)
    assert order_effect(far_later, ACTIVE, timedelta(0)) is OrderEffect.RETURNED


# --- exhausted enrollment: the last letter still works for a while ---


def test_order_after_an_exhausted_ladder_within_the_attribution_window_is_a_return() -> None:
    assert order_effect(ENDED + timedelta(days=10), EXHAUSTED, WINDOW) is OrderEffect.RETURNED


def test_order_at_the_end_of_the_attribution_window_is_still_a_return() -> None:
    assert order_effect(ENDED + WINDOW, EXHAUSTED, WINDOW) is OrderEffect.RETURNED


def test_order_after_the_attribution_window_has_no_effect() -> None:
    assert order_effect(ENDED + WINDOW + TICK, EXHAUSTED, WINDOW) is OrderEffect.NONE
    assert order_effect(ENDED + timedelta(days=365), EXHAUSTED, WINDOW) is OrderEffect.NONE


def test_order_during_an_exhausted_ladder_before_it_ended_is_a_return() -> None:
    assert order_effect(ENROLLED + timedelta(days=1), EXHAUSTED, WINDOW) is OrderEffect.RETURNED


def test_order_before_an_exhausted_enrollment_began_has_no_effect() -> None:
    assert order_effect(ENROLLED - TICK, EXHAUSTED, WINDOW) is OrderEffect.NONE


def test_zero_attribution_window_counts_only_up_to_the_end() -> None:
    assert order_effect(ENDED, EXHAUSTED, timedelta(0)) is OrderEffect.RETURNED
    assert order_effect(ENDED + TICK, EXHAUSTED, timedelta(0)) is OrderEffect.NONE


def test_exhausted_enrollment_without_end_time_has_no_effect() -> None:
    undated = snapshot(EnrollmentStatus.EXHAUSTED, ended_at=None)
    assert order_effect(ENROLLED + timedelta(days=1), undated, WINDOW) is OrderEffect.NONE


@pytest.mark.parametrize(
    "status", [EnrollmentStatus.RETURNED, EnrollmentStatus.UNSUBSCRIBED, EnrollmentStatus.CANCELLED]
)
def test_order_for_a_closed_enrollment_that_is_not_exhausted_has_no_effect(status: EnrollmentStatus) -> None:
    closed = snapshot(status, ended_at=ENDED)
    assert order_effect(ENDED + timedelta(days=1), closed, WINDOW) is OrderEffect.NONE
    assert order_effect(ENROLLED + timedelta(days=1), closed, WINDOW) is OrderEffect.NONE


# --- discount cost ---


def test_paying_90_with_10_percent_discount_cost_us_10() -> None:
    assert discount_cost_cents(90, 10) == 10


@pytest.mark.parametrize(
    ("paid", "percent", "cost"),
    [(9_000, 10, 1_000), (8_500, 15, 1_500), (8_000, 20, 2_000), (5_000, 50, 5_000), (0, 20, 0)],
)
def test_discount_cost_is_list_price_minus_what_was_paid(paid: int, percent: int, cost: int) -> None:
    assert discount_cost_cents(paid, percent) == cost


@pytest.mark.parametrize("percent", [0, -5])
def test_no_discount_costs_nothing(percent: int) -> None:
    assert discount_cost_cents(12_345, percent) == 0


def test_discount_cost_is_rounded_to_whole_cents() -> None:
    cost = discount_cost_cents(100, 15)  # list price 117.6..., so the discount is 17.6...
    assert isinstance(cost, int)
    assert cost == 18


# --- ROMI ---


@pytest.mark.parametrize(
    ("revenue", "cost", "expected"),
    [(300, 100, 2.0), (100, 100, 0.0), (50, 100, -0.5), (0, 100, -1.0)],
)
def test_romi_is_revenue_minus_cost_over_cost(revenue: int, cost: int, expected: float) -> None:
    assert romi(revenue, cost) == pytest.approx(expected)


@pytest.mark.parametrize("cost", [0, -10])
def test_romi_is_none_when_nothing_was_spent(cost: int) -> None:
    assert romi(10_000, cost) is None
