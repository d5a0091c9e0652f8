"""The ladder's rules (`decide`, `entry_step`, `advance`), with `now` always passed in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reactivator.core.ladder import advance, decide, entry_step, is_dormant_for
from reactivator.core.model import (
    CustomerFacts,
    Decision,
    LadderState,
    Step,
    Subscription,
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
