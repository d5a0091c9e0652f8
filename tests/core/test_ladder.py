"""The ladder's rules (`decide`, `entry_step`, `advance`), with `now` always passed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactivator.core.ladder import advance, decide, entry_step, is_dormant_for
from reactivator.core.model import (
    ActiveEnrollment,
    CustomerFacts,
    Decision,
    EnrollmentKind,
    LadderState,
    Policy,
    QuietHours,
    Step,
    Subscription,
    ValueClass,
    ValueRules,
    Verdict,
)
from reactivator.core.plan import pass_parameters
from reactivator.core.value import ClassCutoffs

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


# --- entry: a newcomer enters at the step of their tier ---


def test_customer_dormant_89_days_is_not_dormant() -> None:
    assert decide(customer(NOON, 89), make_policy(), NOON) == Decision(Verdict.NOT_DORMANT)


def test_customer_one_second_short_of_90_days_is_not_dormant() -> None:
    facts = customer(NOON, None, last_purchase_at=NOON - timedelta(days=90) + timedelta(seconds=1))
    assert decide(facts, make_policy(), NOON).verdict is Verdict.NOT_DORMANT


def test_customer_dormant_exactly_90_days_enters_at_step_zero() -> None:
    assert decide(customer(NOON, 90), make_policy(), NOON) == Decision(Verdict.SEND, LADDER, 0, enters=True)


def test_customer_first_seen_at_200_days_enters_at_step_one_only() -> None:
    decision = decide(customer(NOON, 200), make_policy(), NOON)
    assert decision == Decision(Verdict.SEND, LADDER, 1, enters=True)


def test_customer_first_seen_at_400_days_enters_at_step_two() -> None:
    assert decide(customer(NOON, 400), make_policy(), NOON) == Decision(Verdict.SEND, LADDER, 2, enters=True)


@pytest.mark.parametrize(
    ("days", "step"),
    [(90, 0), (179, 0), (180, 1), (200, 1), (359, 1), (360, 2), (400, 2), (5000, 2)],
)
def test_newcomer_enters_at_the_highest_step_whose_days_have_passed(days: int, step: int) -> None:
    decision = decide(customer(NOON, days), make_policy(), NOON)
    assert (decision.verdict, decision.kind, decision.step_index, decision.enters) == (
        Verdict.SEND,
        LADDER,
        step,
        True,
    )


@pytest.mark.parametrize(("days", "step"), [(90, 0), (180, 1), (360, 2)])
def test_entry_step_boundary_is_exactly_at_the_cutoff(days: int, step: int) -> None:
    policy = make_policy()
    cutoff = NOON - timedelta(days=days)
    assert entry_step(cutoff, policy, NOON) == step
    assert entry_step(cutoff + timedelta(microseconds=1), policy, NOON) == (step - 1 if step else None)


def test_entry_step_is_none_for_a_recent_buyer() -> None:
    assert entry_step(NOON - timedelta(days=1), make_policy(), NOON) is None


def test_is_dormant_for_is_true_exactly_at_the_steps_days() -> None:
    step = Step("s", 30, 5)
    assert is_dormant_for(NOON - timedelta(days=30), step, NOON)
    assert not is_dormant_for(NOON - timedelta(days=30) + timedelta(microseconds=1), step, NOON)


def test_entry_follows_the_policys_own_steps() -> None:
    policy = make_policy(steps=(Step("early", 30, 5), Step("late", 60, 25)))
    assert decide(customer(NOON, 45), policy, NOON) == Decision(Verdict.SEND, LADDER, 0, enters=True)
    assert decide(customer(NOON, 60), policy, NOON) == Decision(Verdict.SEND, LADDER, 1, enters=True)
    assert decide(customer(NOON, 29), policy, NOON).verdict is Verdict.NOT_DORMANT


# --- an active enrollment: wait for the next step's day, then send ---


def test_active_enrollment_waits_until_the_next_steps_days() -> None:
    decision = decide(in_ladder(NOON, 150, next_step=1), make_policy(), NOON)
    assert decision == Decision(Verdict.WAITING, LADDER, 1)


def test_active_enrollment_one_second_before_the_next_steps_day_still_waits() -> None:
    facts = replace(
        in_ladder(NOON, 180, next_step=1),
        last_purchase_at=NOON - timedelta(days=180) + timedelta(seconds=1),
    )
    assert decide(facts, make_policy(), NOON).verdict is Verdict.WAITING


def test_active_enrollment_sends_the_next_step_exactly_on_its_day() -> None:
    decision = decide(in_ladder(NOON, 180, next_step=1), make_policy(), NOON)
    assert decision == Decision(Verdict.SEND, LADDER, 1, enters=False)


def test_active_enrollment_sends_the_last_step_at_360_days() -> None:
    assert decide(in_ladder(NOON, 359, next_step=2), make_policy(), NOON).verdict is Verdict.WAITING
    assert decide(in_ladder(NOON, 360, next_step=2), make_policy(), NOON) == Decision(Verdict.SEND, LADDER, 2)


def test_active_enrollment_long_overdue_sends_its_next_step_not_a_later_one() -> None:
    decision = decide(in_ladder(NOON, 400, next_step=1), make_policy(), NOON)
    assert decision == Decision(Verdict.SEND, LADDER, 1, enters=False)


def test_active_apology_enrollment_uses_the_apology_days_not_the_ladders() -> None:
    policy = make_policy(apology=Step("sorry-again", 120, 0))
    assert decide(in_ladder(NOON, 100, 0, APOLOGY), policy, NOON) == Decision(Verdict.WAITING, APOLOGY, 0)
    assert decide(in_ladder(NOON, 120, 0, APOLOGY), policy, NOON) == Decision(Verdict.SEND, APOLOGY, 0)


def test_active_apology_enrollment_is_sent_even_though_ladder_state_is_apology() -> None:
    decision = decide(in_ladder(NOON, 95, 0, APOLOGY), make_policy(), NOON)
    assert decision == Decision(Verdict.SEND, APOLOGY, 0, enters=False)


# --- lost twice is lost for good ---


def test_customer_who_returned_after_the_ladder_and_lapsed_again_gets_the_apology() -> None:
    decision = decide(lost_twice(NOON, 100), make_policy(), NOON)
    assert decision == Decision(Verdict.SEND, APOLOGY, 0, enters=True)


def test_lost_twice_customer_gets_the_apology_exactly_at_the_apology_days() -> None:
    assert decide(lost_twice(NOON, 90), make_policy(), NOON) == Decision(
        Verdict.SEND, APOLOGY, 0, enters=True
    )


def test_lost_twice_customer_before_the_apology_days_is_not_dormant() -> None:
    assert decide(lost_twice(NOON, 89), make_policy(), NOON) == Decision(Verdict.NOT_DORMANT)


def test_lost_twice_customer_never_goes_through_the_discount_ladder_again() -> None:
    decision = decide(lost_twice(NOON, 400, enrolled_days_ago=900), make_policy(), NOON)
    assert decision.kind is APOLOGY
    assert decision.step_index == 0


def test_lost_twice_apology_waits_for_the_policys_apology_days() -> None:
    policy = make_policy(apology=Step("sorry-again", 150, 0))
    assert decide(lost_twice(NOON, 120), policy, NOON).verdict is Verdict.NOT_DORMANT
    assert decide(lost_twice(NOON, 150), policy, NOON).verdict is Verdict.SEND


def test_customer_whose_last_purchase_is_before_ladder_enrollment_has_exhausted_the_ladder() -> None:
    facts = lost_twice(NOON, 500, enrolled_days_ago=100)
    assert decide(facts, make_policy(), NOON) == Decision(Verdict.LADDER_EXHAUSTED)


def test_last_purchase_exactly_at_ladder_enrollment_counts_as_exhausted() -> None:
    facts = lost_twice(NOON, 400, enrolled_days_ago=400)
    assert decide(facts, make_policy(), NOON) == Decision(Verdict.LADDER_EXHAUSTED)


@pytest.mark.parametrize("days", [90, 400, 3000])
def test_apology_state_without_active_enrollment_is_lost_for_good(days: int) -> None:
    facts = customer(
        NOON,
        days,
        ladder_state=LadderState.APOLOGY,
        ladder_enrolled_at=NOON - timedelta(days=days + 200),
    )
    assert decide(facts, make_policy(), NOON) == Decision(Verdict.LOST_FOR_GOOD)


# --- reachability and history ---


@pytest.mark.parametrize(
    ("subscription", "verdict"),
    [
        (Subscription.UNSUBSCRIBED, Verdict.UNSUBSCRIBED),
        (Subscription.BOUNCED, Verdict.BOUNCED),
        (Subscription.ERASED, Verdict.ERASED),
    ],
)
@pytest.mark.parametrize(
    "facts",
    [
        customer(NOON, 200),
        in_ladder(NOON, 200, next_step=1),
        lost_twice(NOON, 200),
        customer(NOON, None),
    ],
    ids=["newcomer", "active", "lost-twice", "never-bought"],
)
def test_unreachable_customer_is_never_sent(
    facts: CustomerFacts, subscription: Subscription, verdict: Verdict
) -> None:
    decision = decide(replace(facts, subscription=subscription), make_policy(), NOON)
    assert decision == Decision(verdict)


def test_customer_who_never_bought_is_never_bought() -> None:
    assert decide(customer(NOON, None, orders_count=0), make_policy(), NOON) == Decision(Verdict.NEVER_BOUGHT)


def test_never_bought_wins_over_value_rules() -> None:
    facts = customer(NOON, None, orders_count=0, tags=frozenset({"bad_payer"}))
    assert decide(facts, make_policy(), NOON).verdict is Verdict.NEVER_BOUGHT


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


# --- order of reasons ---


@pytest.mark.parametrize(
    "subscription", [Subscription.UNSUBSCRIBED, Subscription.BOUNCED, Subscription.ERASED]
)
def test_unreachable_wins_over_excluded_tag(subscription: Subscription) -> None:
    facts = customer(NOON, 200, subscription=subscription, tags=frozenset({"bad_payer"}))
    assert decide(facts, make_policy(), NOON).verdict is Verdict(subscription.value)


def test_not_dormant_wins_over_excluded_tag() -> None:
    facts = customer(NOON, 30, tags=frozenset({"bad_payer"}))
    assert decide(facts, make_policy(), NOON).verdict is Verdict.NOT_DORMANT


def test_waiting_wins_over_value_and_pacing() -> None:
    facts = replace(
        in_ladder(NOON, 150, next_step=1),
        tags=frozenset({"bad_payer"}),
        last_letter_at=NOON - timedelta(days=1),
    )
    assert decide(facts, make_policy(), NOON).verdict is Verdict.WAITING


def test_lost_for_good_wins_over_value_and_pacing() -> None:
    facts = customer(
        NOON,
        200,
        ladder_state=LadderState.APOLOGY,
        ladder_enrolled_at=NOON - timedelta(days=600),
        tags=frozenset({"bad_payer"}),
        letters_in_window=5,
    )
    assert decide(facts, make_policy(), NOON).verdict is Verdict.LOST_FOR_GOOD


def test_value_reason_wins_over_pacing() -> None:
    night = datetime(2024, 1, 10, 2, 0, tzinfo=UTC)
    facts = customer(
        night,
        200,
        tags=frozenset({"bad_payer"}),
        last_letter_at=night - timedelta(days=1),
        letters_in_window=3,
    )
    assert decide(facts, make_policy(), night).verdict is Verdict.EXCLUDED_TAG


def test_pacing_reasons_come_in_order_gap_cap_quiet() -> None:
    night = datetime(2024, 1, 10, 2, 0, tzinfo=UTC)
    facts = customer(night, 200, last_letter_at=night - timedelta(days=1), letters_in_window=3)
    assert decide(facts, make_policy(), night).verdict is Verdict.MIN_GAP
    facts = replace(facts, last_letter_at=None)
    assert decide(facts, make_policy(), night).verdict is Verdict.FREQUENCY_CAP
    facts = replace(facts, letters_in_window=0)
    assert decide(facts, make_policy(), night).verdict is Verdict.QUIET_HOURS


# --- advance ---


@pytest.mark.parametrize(("sent", "following", "done"), [(0, 1, False), (1, 2, False), (2, 3, True)])
def test_advance_moves_one_step_and_marks_the_last_step_as_done(
    sent: int, following: int, done: bool
) -> None:
    assert advance(LADDER, sent, make_policy()) == (following, done)


def test_advance_after_the_apology_marks_it_done() -> None:
    assert advance(APOLOGY, 0, make_policy()) == (1, True)


def test_advance_follows_the_length_of_a_shorter_ladder() -> None:
    policy = make_policy(steps=(Step("a", 90, 10), Step("b", 180, 15)))
    assert advance(LADDER, 0, policy) == (1, False)
    assert advance(LADDER, 1, policy) == (2, True)


def test_newcomer_entering_at_step_two_is_done_after_that_one_letter() -> None:
    policy = make_policy()
    decision = decide(customer(NOON, 400), policy, NOON)
    assert decision.kind is LADDER
    assert decision.step_index is not None
    assert advance(decision.kind, decision.step_index, policy)[1] is True


# --- the pass parameters agree with the per-customer rules ---


@given(
    offset_minutes=st.integers(min_value=0, max_value=600 * 24 * 60),
    apology_days=st.sampled_from([30, 60, 90, 120, 200]),
)
@settings(database=None)
def test_pass_cutoffs_agree_with_the_per_customer_rules(offset_minutes: int, apology_days: int) -> None:
    policy = no_pacing(apology=Step("sorry-again", apology_days, 0))
    last = NOON - timedelta(minutes=offset_minutes)
    params = pass_parameters(policy, NOON, ClassCutoffs(a_min=1, b_min=1))
    for step, cutoff in zip(policy.steps, params.step_cutoffs, strict=True):
        assert (last <= cutoff) == is_dormant_for(last, step, NOON)
    assert (last <= params.apology_cutoff) == is_dormant_for(last, policy.apology, NOON)
    # Nobody who bought after the earliest cutoff can be due; somebody who bought before it can.
    newcomer = decide(customer(NOON, None, last_purchase_at=last), policy, NOON).verdict
    returned_once = decide(lost_twice(NOON, 0, enrolled_days_ago=900, last_purchase_at=last), policy, NOON)
    due = Verdict.SEND in (newcomer, returned_once.verdict)
    assert due == (last <= params.earliest_cutoff)


# --- properties over random facts ---

# Whole days (uniform, and right at every step's boundary) plus a random part of a day.
ages = st.builds(
    lambda days, seconds: timedelta(days=days, seconds=seconds),
    st.sampled_from(range(2001)) | st.sampled_from([89, 90, 179, 180, 359, 360]),
    st.sampled_from([0, 0, 1, 3_600, 43_200, 86_399]),
)
ZONES = [None, "UTC", "Europe/Moscow", "America/New_York", "Asia/Tokyo", "Asia/Kolkata"]


@st.composite
def random_facts(draw: st.DrawFn, now: datetime) -> CustomerFacts:
    never_bought = draw(st.sampled_from([False] * 9 + [True]))
    last = None if never_bought else now - draw(ages)
    history = draw(
        st.sampled_from(["new", "ladder-active", "ladder-ended", "apology-active", "apology-ended"])
    )
    state: LadderState | None = None
    enrolled_at: datetime | None = None
    active: ActiveEnrollment | None = None
    if history != "new" and last is not None:
        enrolled_at = now - draw(ages)
        if history.startswith("ladder"):
            state = LadderState.LADDER
            if history == "ladder-active":
                active = ActiveEnrollment(LADDER, draw(st.integers(0, 2)))
        else:
            state = LadderState.APOLOGY
            if history == "apology-active":
                active = ActiveEnrollment(APOLOGY, 0)
    return CustomerFacts(
        subscription=draw(st.just(Subscription.SUBSCRIBED) | st.sampled_from(Subscription)),
        last_purchase_at=last,
        orders_count=0 if last is None else draw(st.integers(1, 50)),
        revenue_cents=0 if last is None else draw(st.integers(0, 10**7)),
        value_class=draw(st.sampled_from(ValueClass)),
        tags=frozenset(draw(st.sets(st.sampled_from(["bad_payer", "vip", "rude", "wholesale"])))),
        timezone=draw(st.sampled_from(ZONES)),
        ladder_state=state,
        ladder_enrolled_at=enrolled_at,
        active=active,
        last_letter_at=draw(
            st.none() | st.integers(0, 60 * 24 * 60).map(lambda m: now - timedelta(minutes=m))
        ),
        letters_in_window=draw(st.integers(0, 3)),
    )


# Hypothesis takes naive bounds and attaches the zone given in `timezones`.
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2040, 1, 1),
    timezones=st.just(UTC),
)


@given(data=st.data(), now=moments)
@settings(database=None, max_examples=300)
def test_decide_never_sends_to_a_non_subscribed_customer(data: st.DataObject, now: datetime) -> None:
    facts = data.draw(random_facts(now))
    decision = decide(facts, make_policy(), now)
    if facts.subscription is not Subscription.SUBSCRIBED:
        assert decision.verdict is not Verdict.SEND
        assert decision.verdict.value == facts.subscription.value


@given(data=st.data(), now=moments, pacing=st.booleans())
@settings(database=None, max_examples=300)
def test_decide_never_sends_a_step_outside_the_ladder(
    data: st.DataObject, now: datetime, pacing: bool
) -> None:
    policy = make_policy() if pacing else no_pacing()
    decision = decide(data.draw(random_facts(now)), policy, now)
    if decision.verdict is Verdict.SEND:
        assert decision.kind is not None
        assert decision.step_index is not None
        assert 0 <= decision.step_index < policy.ladder_length(decision.kind)
    if decision.step_index is not None:
        assert decision.kind is not None
        assert 0 <= decision.step_index < policy.ladder_length(decision.kind)


@given(data=st.data(), now=moments)
@settings(database=None, max_examples=500)
def test_customer_who_enters_never_gets_two_steps_in_one_decision(data: st.DataObject, now: datetime) -> None:
    policy = no_pacing()
    facts = data.draw(random_facts(now))
    decision = decide(facts, policy, now)
    if not decision.enters:
        return
    assert decision.kind is not None
    assert decision.step_index is not None
    assert facts.active is None
    assert facts.last_purchase_at is not None
    if decision.kind is LADDER:
        assert decision.step_index == entry_step(facts.last_purchase_at, policy, now)
    else:
        assert decision.step_index == 0
    # Once the entry letter is queued, the very same pass finds nothing more due, even with no pacing.
    following, done = advance(decision.kind, decision.step_index, policy)
    if not done:
        state = LadderState.APOLOGY if decision.kind is APOLOGY else LadderState.LADDER
        after = replace(
            facts,
            ladder_state=state,
            ladder_enrolled_at=now,
            active=ActiveEnrollment(decision.kind, following),
            last_letter_at=now,
            letters_in_window=facts.letters_in_window + 1,
        )
        assert decide(after, policy, now) == Decision(Verdict.WAITING, decision.kind, following)
