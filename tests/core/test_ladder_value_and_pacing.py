"""The ladder's value rules and pacing: who is worth returning, and not too often or at night."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from reactivator.core.ladder import decide
from reactivator.core.model import (
    Decision,
    QuietHours,
    ValueClass,
    ValueRules,
    Verdict,
)
from tests.core.ladder_facts import (
    APOLOGY,
    LADDER,
    NOON,
    customer,
    in_ladder,
    lost_twice,
    make_policy,
)

# --- value rules ---


def test_bad_payer_is_excluded_by_default_and_keeps_the_step_in_question() -> None:
    facts = customer(NOON, 200, tags=frozenset({"bad_payer"}))
    assert decide(facts, make_policy(), NOON) == Decision(Verdict.EXCLUDED_TAG, LADDER, 1, enters=True)


def test_custom_exclude_tags_replace_the_default() -> None:
    policy = make_policy(rules=ValueRules(exclude_tags=frozenset({"rude"})))
    assert decide(customer(NOON, 120, tags=frozenset({"bad_payer"})), policy, NOON).verdict is Verdict.SEND
    assert decide(customer(NOON, 120, tags=frozenset({"rude"})), policy, NOON).verdict is Verdict.EXCLUDED_TAG


def test_customer_without_any_included_tag_is_not_included() -> None:
    policy = make_policy(rules=ValueRules(include_tags=frozenset({"vip", "wholesale"})))
    facts = customer(NOON, 120, tags=frozenset({"newsletter"}))
    assert decide(facts, policy, NOON) == Decision(Verdict.NOT_INCLUDED_TAG, LADDER, 0, enters=True)


def test_customer_with_one_included_tag_is_sent() -> None:
    policy = make_policy(rules=ValueRules(include_tags=frozenset({"vip", "wholesale"})))
    facts = customer(NOON, 120, tags=frozenset({"wholesale", "newsletter"}))
    assert decide(facts, policy, NOON).verdict is Verdict.SEND


def test_empty_include_tags_include_customers_without_tags() -> None:
    assert decide(customer(NOON, 120, tags=frozenset()), make_policy(), NOON).verdict is Verdict.SEND


def test_excluded_tag_wins_over_included_tag() -> None:
    policy = make_policy(rules=ValueRules(include_tags=frozenset({"vip"})))
    facts = customer(NOON, 120, tags=frozenset({"vip", "bad_payer"}))
    assert decide(facts, policy, NOON).verdict is Verdict.EXCLUDED_TAG


def test_customer_below_min_orders_is_not_sent_and_exactly_min_orders_is() -> None:
    policy = make_policy(rules=ValueRules(min_orders=3))
    assert decide(customer(NOON, 120, orders_count=2), policy, NOON).verdict is Verdict.BELOW_MIN_ORDERS
    assert decide(customer(NOON, 120, orders_count=3), policy, NOON).verdict is Verdict.SEND


def test_customer_below_min_revenue_is_not_sent_and_exactly_min_revenue_is() -> None:
    policy = make_policy(rules=ValueRules(min_revenue_cents=10_000))
    assert decide(customer(NOON, 120, revenue_cents=9_999), policy, NOON).verdict is Verdict.BELOW_MIN_REVENUE
    assert decide(customer(NOON, 120, revenue_cents=10_000), policy, NOON).verdict is Verdict.SEND


def test_customer_of_an_excluded_class_is_not_sent() -> None:
    policy = make_policy(rules=ValueRules(include_classes=frozenset({ValueClass.A, ValueClass.B})))
    assert (
        decide(customer(NOON, 120, value_class=ValueClass.C), policy, NOON).verdict is Verdict.EXCLUDED_CLASS
    )
    assert decide(customer(NOON, 120, value_class=ValueClass.B), policy, NOON).verdict is Verdict.SEND


def test_value_rules_apply_to_the_apology_too() -> None:
    facts = lost_twice(NOON, 100, tags=frozenset({"bad_payer"}))
    assert decide(facts, make_policy(), NOON) == Decision(Verdict.EXCLUDED_TAG, APOLOGY, 0, enters=True)


def test_value_reasons_come_in_order_tag_include_orders_revenue_class() -> None:
    policy = make_policy(
        rules=ValueRules(
            include_classes=frozenset({ValueClass.A}),
            include_tags=frozenset({"vip"}),
            min_orders=5,
            min_revenue_cents=50_000,
        )
    )
    worst = customer(
        NOON, 120, tags=frozenset({"bad_payer"}), orders_count=1, revenue_cents=1, value_class=ValueClass.C
    )
    fixes: list[tuple[dict[str, Any], Verdict]] = [
        ({}, Verdict.EXCLUDED_TAG),
        ({"tags": frozenset()}, Verdict.NOT_INCLUDED_TAG),
        ({"tags": frozenset({"vip"})}, Verdict.BELOW_MIN_ORDERS),
        ({"orders_count": 5}, Verdict.BELOW_MIN_REVENUE),
        ({"revenue_cents": 50_000}, Verdict.EXCLUDED_CLASS),
        ({"value_class": ValueClass.A}, Verdict.SEND),
    ]
    facts = worst
    for change, expected in fixes:
        facts = replace(facts, **change)
        assert decide(facts, policy, NOON).verdict is expected, change


# --- pacing ---


def test_letter_13_days_after_the_previous_one_is_too_soon() -> None:
    facts = in_ladder(NOON, 200, next_step=1)
    facts = replace(facts, last_letter_at=NOON - timedelta(days=13))
    assert decide(facts, make_policy(), NOON) == Decision(Verdict.MIN_GAP, LADDER, 1)


def test_letter_exactly_min_gap_after_the_previous_one_is_allowed() -> None:
    facts = replace(in_ladder(NOON, 200, next_step=1), last_letter_at=NOON - timedelta(days=14))
    assert decide(facts, make_policy(), NOON).verdict is Verdict.SEND


def test_letter_one_second_inside_min_gap_is_too_soon() -> None:
    facts = replace(
        in_ladder(NOON, 200, next_step=1), last_letter_at=NOON - timedelta(days=14) + timedelta(seconds=1)
    )
    assert decide(facts, make_policy(), NOON).verdict is Verdict.MIN_GAP


def test_frequency_cap_reached_blocks_the_letter() -> None:
    facts = customer(NOON, 120, letters_in_window=1)
    assert decide(facts, make_policy(), NOON) == Decision(Verdict.FREQUENCY_CAP, LADDER, 0, enters=True)


def test_frequency_cap_not_reached_allows_the_letter() -> None:
    policy = make_policy(cap_letters=2)
    assert decide(customer(NOON, 120, letters_in_window=1), policy, NOON).verdict is Verdict.SEND
    assert decide(customer(NOON, 120, letters_in_window=2), policy, NOON).verdict is Verdict.FREQUENCY_CAP


def test_customer_in_moscow_at_22_local_is_in_quiet_hours() -> None:
    now = datetime(2024, 6, 15, 19, 0, tzinfo=UTC)  # 22:00 in Moscow, 19:00 in UTC
    moscow = customer(now, 120, timezone="Europe/Moscow")
    assert decide(moscow, make_policy(), now) == Decision(Verdict.QUIET_HOURS, LADDER, 0, enters=True)
    assert decide(customer(now, 120, timezone="UTC"), make_policy(), now).verdict is Verdict.SEND


@pytest.mark.parametrize(
    ("utc_hour", "utc_minute", "quiet"),
    [
        (11, 59, False),  # 20:59 Tokyo
        (12, 0, True),  # 21:00 Tokyo
        (15, 0, True),  # 00:00 Tokyo, after midnight
        (23, 59, True),  # 08:59 Tokyo, next morning
        (0, 0, False),  # 09:00 Tokyo
    ],
)
def test_quiet_hours_that_wrap_midnight_block_in_the_customers_zone(
    utc_hour: int, utc_minute: int, quiet: bool
) -> None:
    now = datetime(2024, 1, 10, utc_hour, utc_minute, tzinfo=UTC)
    verdict = decide(customer(now, 120, timezone="Asia/Tokyo"), make_policy(), now).verdict
    assert verdict is (Verdict.QUIET_HOURS if quiet else Verdict.SEND)


def test_customer_without_timezone_falls_back_to_the_policys_default_timezone() -> None:
    now = datetime(2024, 1, 10, 13, 0, tzinfo=UTC)  # 22:00 in Tokyo
    facts = customer(now, 120, timezone=None)
    assert decide(facts, make_policy(default_timezone="Asia/Tokyo"), now).verdict is Verdict.QUIET_HOURS
    assert decide(facts, make_policy(default_timezone="UTC"), now).verdict is Verdict.SEND


def test_customers_own_timezone_wins_over_the_default() -> None:
    now = datetime(2024, 1, 10, 13, 0, tzinfo=UTC)
    facts = customer(now, 120, timezone="UTC")
    assert decide(facts, make_policy(default_timezone="Asia/Tokyo"), now).verdict is Verdict.SEND


def test_no_quiet_hours_means_letters_go_out_at_night() -> None:
    now = datetime(2024, 1, 10, 3, 0, tzinfo=UTC)
    facts = customer(now, 120)
    assert decide(facts, make_policy(), now).verdict is Verdict.QUIET_HOURS
    assert decide(facts, make_policy(quiet_hours=None), now).verdict is Verdict.SEND


def test_custom_quiet_hours_window_is_respected() -> None:
    policy = make_policy(quiet_hours=QuietHours(time(12), time(14)))
    assert decide(customer(NOON, 120), policy, NOON).verdict is Verdict.QUIET_HOURS
    assert decide(customer(NOON, 120), policy, NOON - timedelta(minutes=1)).verdict is Verdict.SEND


@pytest.mark.parametrize(
    "facts_at",
    [
        lambda now: customer(now, 200),
        lambda now: in_ladder(now, 400, next_step=2),
        lambda now: lost_twice(now, 100),
    ],
    ids=["newcomer", "active", "lost-twice"],
)
def test_quiet_hours_only_block_they_never_change_the_step(facts_at: Any) -> None:
    night = datetime(2024, 1, 10, 2, 0, tzinfo=UTC)
    day = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
    at_night = decide(facts_at(night), make_policy(), night)
    by_day = decide(facts_at(day), make_policy(), day)
    assert at_night.verdict is Verdict.QUIET_HOURS
    assert by_day.verdict is Verdict.SEND
    assert (at_night.kind, at_night.step_index, at_night.enters) == (
        by_day.kind,
        by_day.step_index,
        by_day.enters,
    )
