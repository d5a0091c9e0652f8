"""The ladder's rules for every customer at once, as one set-based SQL query.

The checks are core.ladder.RULES, in core's order, each written here by its
SQL twin (db/planner_rules.py); a contract test holds the query and `decide`
equal on both backends. A dry run reads this query; a real pass feeds the
very same query into INSERT ... SELECT, so the dry run cannot lie.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, String, and_, case, func, literal, not_, null, select

from reactivator.core.holdout import control_below
from reactivator.core.ladder import RULES, Rule
from reactivator.core.model import (
    DUE_VERDICTS,
    STEPLESS_VERDICTS,
    Arm,
    EnrollmentKind,
    EnrollmentStatus,
    LadderState,
    Policy,
    ValueClass,
    Verdict,
)
from reactivator.core.plan import PassParameters
from reactivator.core.records import PlannedCustomer
from reactivator.db.holdout import holdout_bucket
from reactivator.db.planner_rules import TWINS, Terms, verdict_literal
from reactivator.db.tables import customers, enrollments, letters
from reactivator.db.types import unindexed

VERDICT_CODES = tuple(Verdict)
KIND_CODES = tuple(EnrollmentKind)
ARM_CODES: tuple[Arm | None, ...] = (None, *Arm)


class PlannerMismatch(RuntimeError):
    """The planner and core.ladder disagree on which rules there are: nothing may be planned."""


def _check_twins() -> None:
    named, written = [r.name for r in RULES], set(TWINS)
    missing = [n for n in named if n not in written]
    extra = sorted(written - set(named))
    if missing or extra:
        raise PlannerMismatch(
            "the SQL planner does not match core.ladder.RULES: "
            + (f"no SQL twin for {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"SQL twins of no rule: {', '.join(extra)}" if extra else "")
        )


def per_step(policy: Policy, kind: Any, index: Any, value: Any) -> Any:
    """CASE picking a per-step value (cutoff, key, discount) for (kind, step index); NULL past the end."""
    whens = [
        (and_(kind == step.kind.value, index == step.index), literal(value(step)))
        for step in policy.all_steps()
    ]
    return case(*whens, else_=null())


@dataclass(frozen=True, slots=True)
class SummaryRow:
    verdict: Verdict
    kind: EnrollmentKind
    step_index: int | None
    enters: bool
    customers: int
    arm: Arm | None = None


class PlanQuery:
    """Builds the per-customer decision query for one pass.

    `salt` is the database's holdout salt; without it (or with no holdout in the
    policy) every new enrollment is outside any holdout.
    """

    def __init__(
        self,
        policy: Policy,
        params: PassParameters,
        campaign: str,
        salt: str | None = None,
        *,
        whole_table: bool = False,
    ) -> None:
        _check_twins()
        self.policy = policy
        self.p = params
        self.campaign = campaign
        self.whole_table = whole_table
        self.active = enrollments.alias("e")
        c, e = customers, self.active
        lp = c.c.last_purchase_at
        has_active = e.c.id.is_not(None)
        entry = case(
            *[(lp <= params.step_cutoffs[i], literal(i)) for i in reversed(range(len(params.step_cutoffs)))],
            else_=null(),
        )
        # The step in question (core.ladder.position), as columns.
        self.kind = case(
            (has_active, e.c.kind),
            (c.c.ladder_state == LadderState.LADDER.value, literal(EnrollmentKind.APOLOGY.value)),
            else_=literal(EnrollmentKind.LADDER.value),
        )
        self.step_index = case(
            (has_active, e.c.next_step),
            (c.c.ladder_state == LadderState.LADDER.value, literal(0)),
            else_=entry,
        )
        self.enters = not_(has_active)
        # The arm (core.ladder.arm_of): a running enrollment keeps its own, a new one
        # takes its bucket's (core.holdout.bucket_text, hashed in the database).
        new_arm: Any = null()
        if policy.holdout_percent > 0 and salt is not None:
            hashed = (
                literal(f"{salt}:{campaign}:", String) + self.kind + literal(":", String) + c.c.external_id
            )
            new_arm = case(
                (holdout_bucket(hashed) < control_below(policy.holdout_percent), literal(Arm.CONTROL.value)),
                else_=literal(Arm.TREATMENT.value),
            )
        self.arm = case((has_active, e.c.arm), else_=new_arm)
        cutoffs = dict(zip(policy.steps, params.step_cutoffs, strict=True)) | {
            policy.apology: params.apology_cutoff
        }
        classes = params.classes
        self.value_class: Any = (
            case(
                (c.c.annual_value_cents >= classes.a_min, literal(ValueClass.A.value)),
                (c.c.annual_value_cents >= classes.b_min, literal(ValueClass.B.value)),
                else_=literal(ValueClass.C.value),
            )
            if classes is not None
            else null()
        )
        zone = func.coalesce(c.c.timezone, policy.default_timezone)
        terms = Terms(
            policy=policy,
            p=params,
            has_active=has_active,
            active_next_step=e.c.next_step,
            active_cutoff=per_step(policy, e.c.kind, e.c.next_step, lambda s: cutoffs[s]),
            entry=entry,
            value_class=self.value_class,
            zone=zone,
        )
        whens = [(rule, *twin) for rule in RULES if (twin := TWINS[rule.name](terms)) is not None]
        self.verdict = case(
            *[(condition, verdict_literal(outcome)) for _, condition, outcome in whens],
            else_=literal(Verdict.SEND.value),
        )
        # The same decision as a small integer, for counting: grouping on one
        # integer is much cheaper than on four text columns, row after row.
        self.verdict_code = case(
            *[(condition, _code_of(rule, outcome)) for rule, condition, outcome in whens],
            else_=literal(VERDICT_CODES.index(Verdict.SEND)),
        )
        # A letter due in quiet hours is queued now and handed over when they end.
        self.send_after: Any = (
            case(
                {z: literal(end, letters.c.send_after.type) for z, end in sorted(params.quiet_until.items())},
                value=zone,
                else_=literal(params.now, letters.c.send_after.type),
            )
            if params.quiet_until
            else literal(params.now, letters.c.send_after.type)
        )

    def base(self, *columns: Any) -> Select[Any]:
        c, e = customers, self.active
        return (
            select(*columns)
            .select_from(
                c.outerjoin(e, and_(e.c.customer_id == c.c.id, e.c.status == EnrollmentStatus.ACTIVE.value))
            )
            .where(self._last_purchase <= self.p.earliest_cutoff)
        )

    @property
    def _last_purchase(self) -> Any:
        lp = customers.c.last_purchase_at
        # A hint for SQLite only: read the table in order instead of the dormancy index (same rows).
        return unindexed(lp, type_=lp.type) if self.whole_table else lp

    def trace(self, limit: int | None = None) -> Select[Any]:
        c = customers
        query = self.base(
            c.c.id,
            c.c.external_id,
            c.c.last_purchase_at,
            self.value_class.label("value_class"),
            c.c.annual_value_cents,
            self.verdict.label("verdict"),
            self.kind.label("kind"),
            self.step_index.label("step_index"),
            self.enters.label("enters"),
            self.arm.label("arm"),
        ).order_by(c.c.id)
        return query.limit(limit) if limit is not None else query

    @property
    def _no_step(self) -> int:
        """The key's step digit for "no step": one past the longest ladder, so nothing overflows."""
        return self.policy.longest_ladder

    def summary(self) -> Select[Any]:
        """(key, customers) per decision; `decode_summary_key` reads the key.

        The key is a number in mixed radix (verdict, step, kind, enters, arm), with a
        step digit as wide as the longest ladder: it cannot overflow whatever the config.
        """
        steps = self._no_step + 1
        in_ladder = and_(self.step_index >= 0, self.step_index < self._no_step)
        step = case((in_ladder, self.step_index), else_=self._no_step)
        kind = case(*[(self.kind == k.value, i) for i, k in enumerate(KIND_CODES)], else_=0)
        enters = case((self.enters, 1), else_=0)
        arm = case(*[(self.arm == a.value, i) for i, a in enumerate(ARM_CODES) if a is not None], else_=0)
        key = (((self.verdict_code * steps + step) * len(KIND_CODES) + kind) * 2 + enters) * len(
            ARM_CODES
        ) + arm
        # Materialised first, so the grouping reads plain integers, not the CASE.
        keys = self.base(key.label("k")).cte("decision_keys").prefix_with("MATERIALIZED")
        return select(keys.c.k, func.count()).group_by(keys.c.k)

    def decode_summary_key(self, key: int) -> tuple[Verdict, EnrollmentKind, int | None, bool, Arm | None]:
        """(verdict, kind, step index, enters, arm) from a key made by `summary`."""
        rest, arm = divmod(key, len(ARM_CODES))
        rest, enters = divmod(rest, 2)
        rest, kind = divmod(rest, len(KIND_CODES))
        code, step = divmod(rest, self._no_step + 1)
        index = None if step == self._no_step else step
        return VERDICT_CODES[code], KIND_CODES[kind], index, bool(enters), ARM_CODES[arm]

    def due(self) -> Select[Any]:
        """Customers for whom a letter is due now, with what enrollments and letters need."""
        c, e = customers, self.active
        return self.base(
            c.c.id.label("customer_id"),
            e.c.id.label("enrollment_id"),
            self.kind.label("kind"),
            self.step_index.label("step_index"),
            c.c.last_purchase_at,
            self.send_after.label("send_after"),
            self.arm.label("arm"),
            self.value_class.label("value_class"),
        ).where(self.verdict.in_(sorted(v.value for v in DUE_VERDICTS)))


def scan_beats_index(conn: Connection, cutoff: datetime) -> bool:
    """Whether reading every customer row in order beats the dormancy index for this pass.

    It does on SQLite once a fair share of customers is dormant: the index finds them
    in date order, and fetching each row from there is a random read, several times
    the cost of reading the table straight through. PostgreSQL's planner weighs this itself.
    """
    if conn.dialect.name != "sqlite":
        return False
    lp = customers.c.last_purchase_at
    dormant = conn.execute(select(func.count()).where(lp <= cutoff)).scalar_one()  # a covering index
    rows = conn.execute(select(func.max(customers.c.id))).scalar_one() or 0  # the table's size, at once
    return dormant * 100 >= rows * _SCAN_FROM_PERCENT


# Measured on 300,000 customers: a row through the index costs about six read in order.
_SCAN_FROM_PERCENT = 15


def _code_of(rule: Rule, outcome: Any) -> Any:
    if isinstance(outcome, Verdict):
        return literal(VERDICT_CODES.index(outcome))
    # A column that holds the verdict itself (the subscription, for the unreachable).
    return case({v.value: VERDICT_CODES.index(v) for v in sorted(rule.verdicts)}, value=outcome)


def summary_counts(conn: Connection, plan: PlanQuery) -> list[SummaryRow]:
    """How many customers get each decision (verdict, kind, step, enters) in this pass."""
    rows = []
    for key, n in conn.execute(plan.summary()):
        verdict, kind, index, enters, arm = plan.decode_summary_key(int(key))
        rows.append(SummaryRow(verdict, kind, index, enters, int(n), shown_arm(verdict, index, enters, arm)))
    return rows


def shown_arm(verdict: Verdict, index: int | None, enters: bool, arm: Arm | None) -> Arm | None:
    """The arm as core.ladder.arm_of gives it: none for stepless verdicts or newcomers not enrolled now."""
    if verdict in STEPLESS_VERDICTS or index is None or (enters and verdict not in DUE_VERDICTS):
        return None
    return arm


def iter_trace(conn: Connection, plan: PlanQuery, limit: int | None) -> Iterator[PlannedCustomer]:
    """Stream the decision trace (server-side, so memory stays flat)."""
    yield from _trace_rows(conn.execution_options(yield_per=2000).execute(plan.trace(limit)))


def _trace_rows(result: Iterable[Any]) -> Iterator[PlannedCustomer]:
    for row in result:
        verdict = Verdict(row.verdict)
        arm = shown_arm(verdict, row.step_index, bool(row.enters), Arm(row.arm) if row.arm else None)
        yield PlannedCustomer(
            customer_id=row.id,
            external_id=row.external_id,
            last_purchase_at=row.last_purchase_at,
            value_class=ValueClass(row.value_class) if row.value_class else None,
            annual_value_cents=row.annual_value_cents,
            verdict=verdict,
            kind=EnrollmentKind(row.kind) if row.step_index is not None else None,
            step_index=row.step_index,
            enters=bool(row.enters),
            arm=arm,
        )


def decision_for(conn: Connection, plan: PlanQuery, customer_id: int) -> PlannedCustomer | None:
    """The pass's decision for one customer (None if they are not dormant at all)."""
    query = plan.trace().where(customers.c.id == customer_id)
    return next(_trace_rows(conn.execute(query)), None)


def step_values(policy: Policy, kind: Any, index: Any) -> tuple[Any, Any]:
    """(step key, discount) of the step at (kind, index), as SQL."""
    return (
        per_step(policy, kind, index, lambda s: s.key),
        per_step(policy, kind, index, lambda s: s.discount_percent),
    )
