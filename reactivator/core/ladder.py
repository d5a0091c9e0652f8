"""The ladder's rules: who gets which letter now, or why not.

`decide` is the reference statement of the rules for one customer. The database
adapter applies the very same rules to every customer at once (set-based SQL,
see reactivator/db/planner.py); a contract test holds the two equal.

Order of the checks, which is also the order of the reasons a marketer sees:
reachability, history (never bought, not dormant yet, lost for good...),
value rules, then pacing (minimum gap, frequency cap, quiet hours).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reactivator.core.model import (
    CustomerFacts,
    Decision,
    EnrollmentKind,
    LadderState,
    Policy,
    Step,
    Subscription,
    Verdict,
)
from reactivator.core.quiet_hours import in_quiet_hours

_UNREACHABLE = {
    Subscription.UNSUBSCRIBED: Verdict.UNSUBSCRIBED,
    Subscription.BOUNCED: Verdict.BOUNCED,
    Subscription.ERASED: Verdict.ERASED,
}


def is_dormant_for(last_purchase_at: datetime, step: Step, now: datetime) -> bool:
    """True once the customer has not bought for at least the step's days."""
    return last_purchase_at <= now - timedelta(days=step.from_days)


def entry_step(last_purchase_at: datetime, policy: Policy, now: datetime) -> int | None:
    """The step a newcomer enters at: the highest whose days have passed (never two at once)."""
    entered: int | None = None
    for index, step in enumerate(policy.steps):
        if is_dormant_for(last_purchase_at, step, now):
            entered = index
    return entered


def _candidate(facts: CustomerFacts, policy: Policy, now: datetime) -> Decision:
    """Which step is in question, or the history reason there is none."""
    last = facts.last_purchase_at
    assert last is not None
    if facts.active is not None:
        kind, index = facts.active.kind, facts.active.next_step
        if index >= policy.ladder_length(kind):  # the ladder was shortened under them
            return Decision(Verdict.LADDER_EXHAUSTED)
        if not is_dormant_for(last, policy.step(kind, index), now):
            return Decision(Verdict.WAITING, kind, index)
        return Decision(Verdict.SEND, kind, index)
    if facts.ladder_state is LadderState.APOLOGY:
        return Decision(Verdict.LOST_FOR_GOOD)
    if facts.ladder_state is LadderState.LADDER:
        assert facts.ladder_enrolled_at is not None
        if last <= facts.ladder_enrolled_at:
            return Decision(Verdict.LADDER_EXHAUSTED)
        # They came back after the ladder and lapsed again: lost twice.
        if not is_dormant_for(last, policy.apology, now):
            return Decision(Verdict.NOT_DORMANT)
        return Decision(Verdict.SEND, EnrollmentKind.APOLOGY, 0, enters=True)
    entry = entry_step(last, policy, now)
    if entry is None:
        return Decision(Verdict.NOT_DORMANT)
    return Decision(Verdict.SEND, EnrollmentKind.LADDER, entry, enters=True)


def _value_verdict(facts: CustomerFacts, policy: Policy) -> Verdict | None:
    rules = policy.rules
    if facts.tags & rules.exclude_tags:
        return Verdict.EXCLUDED_TAG
    if rules.include_tags and not facts.tags & rules.include_tags:
        return Verdict.NOT_INCLUDED_TAG
    if facts.orders_count < rules.min_orders:
        return Verdict.BELOW_MIN_ORDERS
    if facts.revenue_cents < rules.min_revenue_cents:
        return Verdict.BELOW_MIN_REVENUE
    if facts.value_class not in rules.include_classes:
        return Verdict.EXCLUDED_CLASS
    return None


def _pacing_verdict(facts: CustomerFacts, policy: Policy, now: datetime) -> Verdict | None:
    if facts.last_letter_at is not None and now - facts.last_letter_at < policy.min_gap:
        return Verdict.MIN_GAP
    if facts.letters_in_window >= policy.cap_letters:
        return Verdict.FREQUENCY_CAP
    zone = facts.timezone or policy.default_timezone
    if in_quiet_hours(now, zone, policy.quiet_hours):
        return Verdict.QUIET_HOURS
    return None


def decide(facts: CustomerFacts, policy: Policy, now: datetime) -> Decision:
    """What this pass does for one customer: which letter to queue, or why none."""
    unreachable = _UNREACHABLE.get(facts.subscription)
    if unreachable is not None:
        return Decision(unreachable)
    if facts.last_purchase_at is None:
        return Decision(Verdict.NEVER_BOUGHT)
    candidate = _candidate(facts, policy, now)
    if candidate.verdict is not Verdict.SEND:
        return candidate
    blocked = _value_verdict(facts, policy) or _pacing_verdict(facts, policy, now)
    if blocked is not None:
        return Decision(blocked, candidate.kind, candidate.step_index, candidate.enters)
    return candidate


def advance(kind: EnrollmentKind, sent_index: int, policy: Policy) -> tuple[int, bool]:
    """After queuing step `sent_index`: the next step's index and whether the ladder is done."""
    following = sent_index + 1
    return following, following >= policy.ladder_length(kind)
