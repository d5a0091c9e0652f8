"""Properties of the ladder over random facts, and the pass parameters against the per-customer rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reactivator.core.ladder import advance, decide, entry_step, is_dormant_for
from reactivator.core.model import (
    ActiveEnrollment,
    CustomerFacts,
    Decision,
    LadderState,
    Step,
    Subscription,
    ValueClass,
    Verdict,
)
from reactivator.core.plan import pass_parameters
from reactivator.core.value import ClassCutoffs
from tests.core.ladder_facts import (
    APOLOGY,
    LADDER,
    NOON,
    customer,
    lost_twice,
    make_policy,
    no_pacing,
)

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
