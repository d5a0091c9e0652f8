"""The vocabulary of the campaign: states, steps, the policy and the facts the rules read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import StrEnum


class Subscription(StrEnum):
    """Whether a customer may be mailed at all."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    ERASED = "erased"


class LadderState(StrEnum):
    """How far a customer has come through reactivation over their whole life."""

    LADDER = "ladder"  # has been (or is) on the discount ladder
    APOLOGY = "apology"  # lost twice: had (or has) the one apology letter


class EnrollmentKind(StrEnum):
    LADDER = "ladder"
    APOLOGY = "apology"


class Arm(StrEnum):
    """Which group an enrollment belongs to while a holdout runs (core/holdout.py)."""

    TREATMENT = "treatment"  # gets the letters
    CONTROL = "control"  # walks the same ladder on the same days, but every letter is held back


class EnrollmentStatus(StrEnum):
    ACTIVE = "active"
    RETURNED = "returned"
    # The order that returned them was cancelled or refunded in full afterwards: not a return,
    # and not put back on the ladder either (lost twice is lost for good).
    RETURN_CANCELLED = "return_cancelled"
    EXHAUSTED = "exhausted"
    UNSUBSCRIBED = "unsubscribed"
    CANCELLED = "cancelled"


class LetterStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    HELD = "held"  # a control enrollment's letter: recorded on its day, never sent


class ValueClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class Verdict(StrEnum):
    """What a pass decides for one customer: send, or why not."""

    SEND = "send"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    ERASED = "erased"
    PAUSED = "paused"
    NEVER_BOUGHT = "never_bought"
    NOT_DORMANT = "not_dormant"
    WAITING = "waiting_next_step"
    LADDER_EXHAUSTED = "ladder_exhausted"
    LOST_FOR_GOOD = "lost_for_good"
    EXCLUDED_TAG = "excluded_tag"
    NOT_INCLUDED_TAG = "not_in_included_tags"
    BELOW_MIN_ORDERS = "below_min_orders"
    BELOW_MIN_REVENUE = "below_min_revenue"
    EXCLUDED_CLASS = "excluded_class"
    MIN_GAP = "min_gap"
    FREQUENCY_CAP = "frequency_cap"
    QUIET_HOURS = "quiet_hours"


# The verdicts that queue a letter now (quiet hours only delay its sending).
DUE_VERDICTS = frozenset({Verdict.SEND, Verdict.QUIET_HOURS})

# Verdicts about the customer's state or history, not about a particular step.
STEPLESS_VERDICTS = frozenset(
    {
        Verdict.UNSUBSCRIBED,
        Verdict.BOUNCED,
        Verdict.ERASED,
        Verdict.PAUSED,
        Verdict.NEVER_BOUGHT,
        Verdict.NOT_DORMANT,
        Verdict.LADDER_EXHAUSTED,
        Verdict.LOST_FOR_GOOD,
    }
)

VERDICT_EXPLANATIONS: dict[Verdict, str] = {
    Verdict.SEND: "a letter is due",
    Verdict.UNSUBSCRIBED: "unsubscribed",
    Verdict.BOUNCED: "address bounced",
    Verdict.ERASED: "personal data erased",
    Verdict.PAUSED: "asked for a pause in the letters",
    Verdict.NEVER_BOUGHT: "never bought, so not dormant",
    Verdict.NOT_DORMANT: "not dormant long enough",
    Verdict.WAITING: "waiting for the next step's day",
    Verdict.LADDER_EXHAUSTED: "went through the whole ladder without returning",
    Verdict.LOST_FOR_GOOD: "lost twice and already apologised to: lost for good",
    Verdict.EXCLUDED_TAG: "excluded by tag",
    Verdict.NOT_INCLUDED_TAG: "has none of the included tags",
    Verdict.BELOW_MIN_ORDERS: "too few orders to be worth returning",
    Verdict.BELOW_MIN_REVENUE: "too little revenue to be worth returning",
    Verdict.EXCLUDED_CLASS: "value class excluded",
    Verdict.MIN_GAP: "too soon after the previous letter",
    Verdict.FREQUENCY_CAP: "frequency cap reached",
    Verdict.QUIET_HOURS: "queued; goes out when quiet hours end in the customer's time zone",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One rung of a ladder: from how many days dormant, with what discount.

    `kind` and `index` say where it stands; a Policy sets them for its steps.
    """

    key: str
    from_days: int
    discount_percent: int
    kind: EnrollmentKind = EnrollmentKind.LADDER
    index: int = 0


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours in which no letter goes out; `start` > `end` wraps midnight."""

    start: time
    end: time


@dataclass(frozen=True, slots=True)
class ValueRules:
    """Who is worth returning."""

    include_classes: frozenset[ValueClass] = frozenset(ValueClass)
    exclude_tags: frozenset[str] = frozenset({"bad_payer"})
    include_tags: frozenset[str] = frozenset()
    min_orders: int = 1
    min_revenue_cents: int = 0


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything the rules need besides the facts: ladder, value rules, pacing."""

    steps: tuple[Step, ...]
    apology: Step
    rules: ValueRules = field(default_factory=ValueRules)
    min_gap: timedelta = timedelta(days=14)
    cap_letters: int = 1
    cap_window: timedelta = timedelta(days=7)
    quiet_hours: QuietHours | None = QuietHours(time(21), time(9))
    default_timezone: str = "UTC"
    # The share of new enrollments kept as the control group (0: no holdout).
    holdout_percent: float = 0.0

    def __post_init__(self) -> None:
        # Each step knows its place, so whoever holds one needs nothing else to name it.
        placed = tuple(replace(s, kind=EnrollmentKind.LADDER, index=i) for i, s in enumerate(self.steps))
        object.__setattr__(self, "steps", placed)
        object.__setattr__(self, "apology", replace(self.apology, kind=EnrollmentKind.APOLOGY, index=0))

    def ladder(self, kind: EnrollmentKind) -> tuple[Step, ...]:
        """The steps an enrollment of `kind` walks: the discount ladder, or the one apology."""
        return (self.apology,) if kind is EnrollmentKind.APOLOGY else self.steps

    def ladder_length(self, kind: EnrollmentKind) -> int:
        return len(self.ladder(kind))

    def step(self, kind: EnrollmentKind, index: int) -> Step:
        """The step an enrollment of `kind` is at."""
        return self.ladder(kind)[index]

    def all_steps(self) -> tuple[Step, ...]:
        """Every step of the campaign, the ladder's in order, then the apology."""
        return (*self.steps, self.apology)

    def step_named(self, key: str) -> Step | None:
        return next((s for s in self.all_steps() if s.key == key), None)

    @property
    def longest_ladder(self) -> int:
        return max(self.ladder_length(kind) for kind in EnrollmentKind)

    @property
    def earliest_days(self) -> int:
        """The fewest days dormant at which any letter can be due: what "dormant" means."""
        return min(self.steps[0].from_days, self.apology.from_days)


@dataclass(frozen=True, slots=True)
class ActiveEnrollment:
    kind: EnrollmentKind
    next_step: int
    arm: Arm | None = None  # None: enrolled while no holdout ran


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What the rules know of one customer at decision time."""

    subscription: Subscription
    last_purchase_at: datetime | None
    orders_count: int
    revenue_cents: int
    value_class: ValueClass
    tags: frozenset[str] = frozenset()
    timezone: str | None = None
    ladder_state: LadderState | None = None
    ladder_enrolled_at: datetime | None = None
    active: ActiveEnrollment | None = None
    last_letter_at: datetime | None = None
    letters_in_window: int = 0
    paused_until: datetime | None = None  # asked for no letters until then
    # The customer's holdout bucket (0-9999) for an enrollment of each kind; a
    # kind missing here counts as the highest bucket, which is never held out.
    holdout_buckets: Mapping[EnrollmentKind, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome for one customer: a verdict, and the step it concerns if any."""

    verdict: Verdict
    kind: EnrollmentKind | None = None
    step_index: int | None = None
    enters: bool = False  # True when this decision starts a new enrollment
    arm: Arm | None = None  # the enrollment's arm, for decisions about a step while a holdout runs
