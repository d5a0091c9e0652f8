"""The SQL twin of each rule in core.ladder.RULES: a condition on a customer row and its verdict.

Every twin is written over the same names as the pure rule (see `Terms`), and
the planner takes them in core's order; a rule core names that has no twin
here stops the planner from being built at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, not_, or_, select

from reactivator.core.model import LadderState, LetterStatus, Policy, Subscription, ValueClass, Verdict
from reactivator.core.plan import PassParameters
from reactivator.db.tables import customers, letters
from reactivator.db.types import contains_text


@dataclass(frozen=True)
class Terms:
    """The columns and expressions the twins are written in, for one pass."""

    policy: Policy
    p: PassParameters
    has_active: ColumnElement[bool]
    active_next_step: Any
    active_cutoff: Any  # the cutoff of the active enrollment's current step (NULL: no such step)
    entry: Any  # the step a newcomer would enter at (NULL: not dormant for any)
    value_class: Any  # NULL when the pass did not work the classes out
    zone: Any

    @property
    def last(self) -> Any:
        return customers.c.last_purchase_at

    def history(self, state: LadderState | None) -> ColumnElement[bool]:
        column = customers.c.ladder_state
        matches = column.is_(None) if state is None else column == state.value
        return and_(not_(self.has_active), matches)


# A twin gives (condition, verdict) or None when the rule cannot hold under this policy
# (no tags excluded, say). The verdict is a Verdict, or a column holding one.
Twin = Callable[[Terms], tuple[ColumnElement[bool], Any] | None]


def _has_any_tag(tags: frozenset[str]) -> ColumnElement[bool]:
    # A substring test, not LIKE: '_' in a tag such as bad_payer must mean itself.
    return or_(*[contains_text(customers.c.tags, f";{tag};") for tag in sorted(tags)])


def _frequency_cap(t: Terms) -> tuple[ColumnElement[bool], Any]:
    recent = (
        select(func.count())
        .select_from(letters)
        .where(
            letters.c.customer_id == customers.c.id,
            letters.c.queued_at > t.p.cap_since,
            letters.c.status != LetterStatus.CANCELLED.value,
        )
        .scalar_subquery()
    )
    # The cheap column test first: only customers mailed lately need the count.
    return and_(
        customers.c.last_letter_at > t.p.cap_since, recent >= t.policy.cap_letters
    ), Verdict.FREQUENCY_CAP


def _excluded_class(t: Terms) -> tuple[ColumnElement[bool], Any] | None:
    excluded = sorted(v.value for v in set(ValueClass) - t.policy.rules.include_classes)
    if not excluded:
        return None
    assert t.p.classes is not None, "excluding a value class needs the class cutoffs"
    return t.value_class.in_(excluded), Verdict.EXCLUDED_CLASS


def _quiet(t: Terms) -> tuple[ColumnElement[bool], Any]:
    quiet = t.zone.in_(sorted(t.p.quiet_until)) if t.p.quiet_until else false()
    return quiet, Verdict.QUIET_HOURS


def _tags(tags: frozenset[str], negate: bool, verdict: Verdict) -> Twin:
    def twin(t: Terms) -> tuple[ColumnElement[bool], Any] | None:
        if not tags:
            return None
        condition = _has_any_tag(tags)
        return (not_(condition) if negate else condition), verdict

    return twin


TWINS: dict[str, Twin] = {
    "unreachable": lambda t: (
        customers.c.subscription != Subscription.SUBSCRIBED.value,
        customers.c.subscription,
    ),
    "paused": lambda t: (
        and_(customers.c.paused_until.is_not(None), customers.c.paused_until > t.p.now),
        Verdict.PAUSED,
    ),
    # The plan reads only customers who bought (its range scan skips NULL), so this never holds there.
    "never_bought": lambda t: (t.last.is_(None), Verdict.NEVER_BOUGHT),
    "ladder_shortened": lambda t: (and_(t.has_active, t.active_cutoff.is_(None)), Verdict.LADDER_EXHAUSTED),
    "waiting_next_step": lambda t: (and_(t.has_active, t.last > t.active_cutoff), Verdict.WAITING),
    "lost_for_good": lambda t: (t.history(LadderState.APOLOGY), Verdict.LOST_FOR_GOOD),
    "ladder_done": lambda t: (
        and_(t.history(LadderState.LADDER), t.last <= customers.c.ladder_enrolled_at),
        Verdict.LADDER_EXHAUSTED,
    ),
    "not_dormant_again": lambda t: (
        and_(t.history(LadderState.LADDER), t.last > t.p.apology_cutoff),
        Verdict.NOT_DORMANT,
    ),
    "not_dormant": lambda t: (and_(t.history(None), t.entry.is_(None)), Verdict.NOT_DORMANT),
    "excluded_tag": lambda t: _tags(t.policy.rules.exclude_tags, False, Verdict.EXCLUDED_TAG)(t),
    "not_included_tag": lambda t: _tags(t.policy.rules.include_tags, True, Verdict.NOT_INCLUDED_TAG)(t),
    "below_min_orders": lambda t: (
        customers.c.orders_count < t.policy.rules.min_orders,
        Verdict.BELOW_MIN_ORDERS,
    ),
    "below_min_revenue": lambda t: (
        customers.c.revenue_cents < t.policy.rules.min_revenue_cents,
        Verdict.BELOW_MIN_REVENUE,
    ),
    "excluded_class": _excluded_class,
    "min_gap": lambda t: (customers.c.last_letter_at > t.p.min_gap_since, Verdict.MIN_GAP),
    "frequency_cap": _frequency_cap,
    "quiet_hours": _quiet,
}


def verdict_literal(outcome: Any) -> Any:
    """A twin's verdict as an SQL value: a Verdict becomes its text, a column stays."""
    return literal(outcome.value) if isinstance(outcome, Verdict) else outcome
