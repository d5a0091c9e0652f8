"""The ladder's rules: who gets which letter now, or why not.

`RULES` is the one ordered list of the checks; the order is also the order of
the reasons a marketer sees: reachability, history (never bought, not dormant
yet, lost for good...), value rules, then pacing (minimum gap, frequency cap,
quiet hours). `decide` applies them to one customer. The database adapter
applies the very same list to every customer at once (set-based SQL, see
reactivator/db/planner.py), which must give each rule its SQL twin or it
refuses to build; a contract test holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from reactivator.core.holdout import BUCKETS, arm_for
from reactivator.core.model import (
    DUE_VERDICTS,
    STEPLESS_VERDICTS,
    Arm,
    CustomerFacts,
    Decision,
    EnrollmentKind,
    LadderState,
    Policy,
    Step,
    Subscription,
    ValueClass,
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


def is_dormant(last_purchase_at: datetime | None, policy: Policy, now: datetime) -> bool:
    """Dormant: not bought for at least the days at which the campaign's first letter can be due."""
    return last_purchase_at is not None and last_purchase_at <= now - timedelta(days=policy.earliest_days)


def entry_step(last_purchase_at: datetime, policy: Policy, now: datetime) -> int | None:
    """The step a newcomer enters at: the highest whose days have passed (never two at once)."""
    entered: int | None = None
    for step in policy.steps:
        if is_dormant_for(last_purchase_at, step, now):
            entered = step.index
    return entered


@dataclass(frozen=True, slots=True)
class Position:
    """Where on a ladder a customer's decision stands: the step in question, and whether it enrolls."""

    kind: EnrollmentKind
    index: int
    enters: bool


def position(facts: CustomerFacts, policy: Policy, now: datetime) -> Position | None:
    """The step in question for this customer, if any (before any rule is applied)."""
    if facts.active is not None:
        return Position(facts.active.kind, facts.active.next_step, enters=False)
    if facts.ladder_state is LadderState.APOLOGY or facts.last_purchase_at is None:
        return None
    if facts.ladder_state is LadderState.LADDER:
        # They came back after the ladder and lapsed again: lost twice, the apology is in question.
        return Position(EnrollmentKind.APOLOGY, 0, enters=True)
    entry = entry_step(facts.last_purchase_at, policy, now)
    return Position(EnrollmentKind.LADDER, entry, enters=True) if entry is not None else None


@dataclass(frozen=True, slots=True)
class Case:
    """What a rule looks at: one customer's facts, the step in question, the policy, the time."""

    facts: CustomerFacts
    at: Position | None
    policy: Policy
    now: datetime

    @property
    def last(self) -> datetime:
        assert self.facts.last_purchase_at is not None  # the rule "never_bought" comes first
        return self.facts.last_purchase_at


@dataclass(frozen=True, slots=True)
class Rule:
    """One check: its name (the planner's SQL twin is found by it) and the verdict it gives, if it holds."""

    name: str
    verdicts: frozenset[Verdict]
    verdict: Callable[[Case], Verdict | None]


def _rule(name: str, verdict: Verdict, holds: Callable[[Case], bool]) -> Rule:
    return Rule(name, frozenset({verdict}), lambda case: verdict if holds(case) else None)


def _shortened(case: Case) -> bool:
    """A running enrollment whose ladder was shortened under it: nothing is left to send."""
    active = case.facts.active
    return active is not None and active.next_step >= case.policy.ladder_length(active.kind)


def _waiting(case: Case) -> bool:
    active = case.facts.active
    return active is not None and not is_dormant_for(
        case.last, case.policy.step(active.kind, active.next_step), case.now
    )


def _history(case: Case, state: LadderState | None) -> bool:
    return case.facts.active is None and case.facts.ladder_state is state


def _value_class_excluded(case: Case) -> bool:
    return case.facts.value_class not in case.policy.rules.include_classes


def _quiet(case: Case) -> bool:
    zone = case.facts.timezone or case.policy.default_timezone
    return in_quiet_hours(case.now, zone, case.policy.quiet_hours)


RULES: tuple[Rule, ...] = (
    # Reachability.
    Rule("unreachable", frozenset(_UNREACHABLE.values()), lambda c: _UNREACHABLE.get(c.facts.subscription)),
    # History.
    _rule("never_bought", Verdict.NEVER_BOUGHT, lambda c: c.facts.last_purchase_at is None),
    # They asked for a break from the letters (on the unsubscribe page): nothing until it ends.
    _rule(
        "paused", Verdict.PAUSED, lambda c: c.facts.paused_until is not None and c.facts.paused_until > c.now
    ),
    _rule("ladder_shortened", Verdict.LADDER_EXHAUSTED, _shortened),
    _rule("waiting_next_step", Verdict.WAITING, _waiting),
    _rule("lost_for_good", Verdict.LOST_FOR_GOOD, lambda c: _history(c, LadderState.APOLOGY)),
    _rule(
        "ladder_done",
        Verdict.LADDER_EXHAUSTED,
        lambda c: (
            _history(c, LadderState.LADDER)
            and c.facts.ladder_enrolled_at is not None
            and c.last <= c.facts.ladder_enrolled_at
        ),
    ),
    _rule(
        "not_dormant_again",
        Verdict.NOT_DORMANT,
        lambda c: _history(c, LadderState.LADDER) and not is_dormant_for(c.last, c.policy.apology, c.now),
    ),
    _rule("not_dormant", Verdict.NOT_DORMANT, lambda c: _history(c, None) and c.at is None),
    # Worth returning?
    _rule("excluded_tag", Verdict.EXCLUDED_TAG, lambda c: bool(c.facts.tags & c.policy.rules.exclude_tags)),
    _rule(
        "not_included_tag",
        Verdict.NOT_INCLUDED_TAG,
        lambda c: bool(c.policy.rules.include_tags) and not c.facts.tags & c.policy.rules.include_tags,
    ),
    _rule(
        "below_min_orders",
        Verdict.BELOW_MIN_ORDERS,
        lambda c: c.facts.orders_count < c.policy.rules.min_orders,
    ),
    _rule(
        "below_min_revenue",
        Verdict.BELOW_MIN_REVENUE,
        lambda c: c.facts.revenue_cents < c.policy.rules.min_revenue_cents,
    ),
    _rule("excluded_class", Verdict.EXCLUDED_CLASS, _value_class_excluded),
    # Pacing.
    _rule(
        "min_gap",
        Verdict.MIN_GAP,
        lambda c: c.facts.last_letter_at is not None and c.now - c.facts.last_letter_at < c.policy.min_gap,
    ),
    _rule(
        "frequency_cap", Verdict.FREQUENCY_CAP, lambda c: c.facts.letters_in_window >= c.policy.cap_letters
    ),
    _rule("quiet_hours", Verdict.QUIET_HOURS, _quiet),
)

RULE_NAMES = tuple(rule.name for rule in RULES)


def needs_value_classes(policy: Policy) -> bool:
    """Whether a rule of this policy reads the A/B/C classes (working them out costs a query)."""
    return policy.rules.include_classes != frozenset(ValueClass)


def decide(facts: CustomerFacts, policy: Policy, now: datetime) -> Decision:
    """What this pass does for one customer: which letter to queue, or why none."""
    at = position(facts, policy, now)
    case = Case(facts, at, policy, now)
    verdict = next((v for rule in RULES if (v := rule.verdict(case)) is not None), Verdict.SEND)
    if at is None or verdict in STEPLESS_VERDICTS:
        return Decision(verdict)
    return Decision(verdict, at.kind, at.index, at.enters, arm_of(facts, at, verdict, policy))


def arm_of(facts: CustomerFacts, at: Position, verdict: Verdict, policy: Policy) -> Arm | None:
    """A running enrollment keeps its arm; a new one takes the arm of the customer's bucket.

    A newcomer who is not enrolled now has no arm yet.
    """
    if facts.active is not None:
        return facts.active.arm
    if verdict not in DUE_VERDICTS:
        return None
    return arm_for(facts.holdout_buckets.get(at.kind, BUCKETS - 1), policy.holdout_percent)


def advance(kind: EnrollmentKind, sent_index: int, policy: Policy) -> tuple[int, bool]:
    """After queuing step `sent_index`: the next step's index and whether the ladder is done."""
    following = sent_index + 1
    return following, following >= policy.ladder_length(kind)
