"""The ladder's rules for every customer at once, as one set-based SQL query.

This mirrors `reactivator.core.ladder.decide` check for check (a contract test
holds them equal on both backends). A dry run reads this query; a real pass
feeds the very same query into INSERT ... SELECT, so the dry run cannot lie.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
)

from reactivator.core.model import (
    DUE_VERDICTS,
    EnrollmentKind,
    EnrollmentStatus,
    LadderState,
    LetterStatus,
    Policy,
    Subscription,
    ValueClass,
    Verdict,
)
from reactivator.core.plan import PassParameters
from reactivator.core.records import PlannedCustomer
from reactivator.core.value import ClassCutoffs, rank_positions
from reactivator.db.tables import customers, enrollments, letters
from reactivator.db.types import contains_text


def class_cutoffs(conn: Connection, a_share: float, b_share: float) -> ClassCutoffs:
    """A/B cutoffs from the spread of values among buyers, read straight off an index."""
    buyers = conn.execute(
        select(func.count()).select_from(customers).where(customers.c.annual_value_cents > 0)
    ).scalar_one()
    if buyers == 0:
        return ClassCutoffs(a_min=1, b_min=1)
    a_pos, b_pos = rank_positions(buyers, a_share, b_share)

    def value_at(position: int) -> int:
        query = (
            select(customers.c.annual_value_cents)
            .where(customers.c.annual_value_cents > 0)
            .order_by(customers.c.annual_value_cents.desc())
            .offset(position)
            .limit(1)
        )
        return int(conn.execute(query).scalar_one())

    return ClassCutoffs(a_min=value_at(a_pos), b_min=value_at(b_pos))


def per_step(kind: ColumnElement[Any], index: ColumnElement[Any], values: list[Any], apology: Any) -> Any:
    """CASE picking a per-step value (cutoff, key, discount) for (kind, step index)."""
    whens = [(kind == EnrollmentKind.APOLOGY.value, literal(apology))]
    whens += [(index == i, literal(v)) for i, v in enumerate(values)]
    return case(*whens, else_=null())


class PlanQuery:
    """Builds the per-customer decision query for one pass."""

    def __init__(self, policy: Policy, params: PassParameters, campaign: str) -> None:
        self.policy = policy
        self.p = params
        self.campaign = campaign
        self.active = enrollments.alias("e")
        c, e = customers, self.active
        lp = c.c.last_purchase_at
        has_active = e.c.id.is_not(None)
        entry = case(
            *[(lp <= params.step_cutoffs[i], literal(i)) for i in reversed(range(len(params.step_cutoffs)))],
            else_=null(),
        )
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
        active_cutoff = per_step(e.c.kind, e.c.next_step, list(params.step_cutoffs), params.apology_cutoff)
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
        self.enters = not_(has_active)
        rules = policy.rules
        no_active = e.c.id.is_(None)
        whens: list[tuple[ColumnElement[bool], Any]] = [
            (c.c.subscription != Subscription.SUBSCRIBED.value, c.c.subscription),
            # The ladder was shortened under a running enrollment: nothing is left to send.
            (and_(has_active, active_cutoff.is_(None)), Verdict.LADDER_EXHAUSTED.value),
            (and_(has_active, lp > active_cutoff), Verdict.WAITING.value),
            (and_(no_active, c.c.ladder_state == LadderState.APOLOGY.value), Verdict.LOST_FOR_GOOD.value),
            (
                and_(no_active, c.c.ladder_state == LadderState.LADDER.value, lp <= c.c.ladder_enrolled_at),
                Verdict.LADDER_EXHAUSTED.value,
            ),
            (
                and_(no_active, c.c.ladder_state == LadderState.LADDER.value, lp > params.apology_cutoff),
                Verdict.NOT_DORMANT.value,
            ),
            (and_(no_active, c.c.ladder_state.is_(None), entry.is_(None)), Verdict.NOT_DORMANT.value),
        ]
        if rules.exclude_tags:
            whens.append((_has_any_tag(rules.exclude_tags), Verdict.EXCLUDED_TAG.value))
        if rules.include_tags:
            whens.append((not_(_has_any_tag(rules.include_tags)), Verdict.NOT_INCLUDED_TAG.value))
        whens += [
            (c.c.orders_count < rules.min_orders, Verdict.BELOW_MIN_ORDERS.value),
            (c.c.revenue_cents < rules.min_revenue_cents, Verdict.BELOW_MIN_REVENUE.value),
        ]
        excluded = sorted(v.value for v in set(ValueClass) - rules.include_classes)
        if excluded:
            assert classes is not None, "excluding a value class needs the class cutoffs"
            whens.append((self.value_class.in_(excluded), Verdict.EXCLUDED_CLASS.value))
        recent = (
            select(func.count())
            .select_from(letters)
            .where(
                letters.c.customer_id == c.c.id,
                letters.c.queued_at > params.cap_since,
                letters.c.status != LetterStatus.CANCELLED.value,
            )
            .scalar_subquery()
        )
        zone = func.coalesce(c.c.timezone, policy.default_timezone)
        quiet: ColumnElement[bool] = zone.in_(sorted(params.quiet_until)) if params.quiet_until else false()
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
        whens += [
            (c.c.last_letter_at > params.min_gap_since, Verdict.MIN_GAP.value),
            # The cheap column test first: only customers mailed lately need the count.
            (
                and_(c.c.last_letter_at > params.cap_since, recent >= policy.cap_letters),
                Verdict.FREQUENCY_CAP.value,
            ),
            (quiet, Verdict.QUIET_HOURS.value),
        ]
        self.verdict = case(*whens, else_=literal(Verdict.SEND.value))
        # The same decision as a small integer, for counting: grouping on one
        # integer is much cheaper than on four text columns, row after row.
        by_name = {name: code for code, name in enumerate(VERDICT_CODES)}
        self.verdict_code = case(
            *[
                (
                    condition,
                    case({s: by_name[s] for s in _UNREACHABLE}, value=c.c.subscription)
                    if isinstance(outcome, ColumnElement)
                    else literal(by_name[outcome]),
                )
                for condition, outcome in whens
            ],
            else_=literal(by_name[Verdict.SEND.value]),
        )

    def base(self, *columns: Any) -> Select[Any]:
        c, e = customers, self.active
        return (
            select(*columns)
            .select_from(
                c.outerjoin(e, and_(e.c.customer_id == c.c.id, e.c.status == EnrollmentStatus.ACTIVE.value))
            )
            .where(c.c.last_purchase_at <= self.p.earliest_cutoff)
        )

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
        ).order_by(c.c.id)
        return query.limit(limit) if limit is not None else query

    def summary(self) -> Select[Any]:
        """(key, customers) per decision; `decode_summary_key` reads the key."""
        apology = case((self.kind == EnrollmentKind.APOLOGY.value, 1), else_=0)
        step = func.coalesce(self.step_index, _NO_STEP)
        key = ((self.verdict_code * 16 + step) * 2 + apology) * 2 + case((self.enters, 1), else_=0)
        # Materialised first, so the grouping reads plain integers, not the CASE.
        keys = self.base(key.label("k")).cte("decision_keys").prefix_with("MATERIALIZED")
        return select(keys.c.k, func.count()).group_by(keys.c.k)

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
        ).where(self.verdict.in_(sorted(v.value for v in DUE_VERDICTS)))


VERDICT_CODES = tuple(v.value for v in Verdict)
_UNREACHABLE = (Subscription.UNSUBSCRIBED.value, Subscription.BOUNCED.value, Subscription.ERASED.value)
_NO_STEP = 15


def decode_summary_key(key: int) -> tuple[Verdict, EnrollmentKind, int | None, bool]:
    """(verdict, kind, step index, enters) from a key made by `PlanQuery.summary`."""
    rest, enters = divmod(key, 2)
    rest, apology = divmod(rest, 2)
    code, step = divmod(rest, 16)
    kind = EnrollmentKind.APOLOGY if apology else EnrollmentKind.LADDER
    return Verdict(VERDICT_CODES[code]), kind, None if step == _NO_STEP else step, bool(enters)


def _has_any_tag(tags: frozenset[str]) -> ColumnElement[bool]:
    # A substring test, not LIKE: '_' in a tag such as bad_payer must mean itself.
    return or_(*[contains_text(customers.c.tags, f";{tag};") for tag in sorted(tags)])


def iter_trace(conn: Connection, plan: PlanQuery, limit: int | None) -> Iterator[PlannedCustomer]:
    """Stream the decision trace (server-side, so memory stays flat)."""
    yield from _trace_rows(conn.execution_options(yield_per=2000).execute(plan.trace(limit)))


def _trace_rows(result: Iterable[Any]) -> Iterator[PlannedCustomer]:
    for row in result:
        yield PlannedCustomer(
            customer_id=row.id,
            external_id=row.external_id,
            last_purchase_at=row.last_purchase_at,
            value_class=ValueClass(row.value_class) if row.value_class else None,
            annual_value_cents=row.annual_value_cents,
            verdict=Verdict(row.verdict),
            kind=EnrollmentKind(row.kind) if row.step_index is not None else None,
            step_index=row.step_index,
            enters=bool(row.enters),
        )


def decision_for(conn: Connection, plan: PlanQuery, customer_id: int) -> PlannedCustomer | None:
    """The pass's decision for one customer (None if they are not dormant at all)."""
    query = plan.trace().where(customers.c.id == customer_id)
    return next(_trace_rows(conn.execute(query)), None)
