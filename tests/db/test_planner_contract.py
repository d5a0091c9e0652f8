"""The set-based planner and the pure rules agree, customer for customer, on both backends.

Hypothesis draws a campaign policy and a shop of consistent customer states
(typed, below), written straight into the tables. For every customer the SQL
plan must give what `reactivator.core.ladder.decide` gives for the same facts:
the trace (verdict, step, whether they enroll, the holdout arm), the dry run's
counts, the due letters with their `send_after`, and what a real pass writes
(`decide`, then `advance`; the control's letters held back). Customers who
never bought are not in the plan at all.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from reactivator.core.holdout import bucket
from reactivator.core.ladder import RULES, advance, decide
from reactivator.core.model import (
    DUE_VERDICTS,
    STEPLESS_VERDICTS,
    ActiveEnrollment,
    Arm,
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
from reactivator.core.quiet_hours import quiet_ends_at
from reactivator.core.records import encode_tags
from reactivator.core.value import ClassCutoffs
from reactivator.db import planner
from reactivator.db.holdout import make_holdout_salt
from reactivator.db.planner import PlannerMismatch, PlanQuery
from reactivator.db.tables import customers, enrollments, letters, metadata
from reactivator.db.value_classes import class_cutoffs
from reactivator.service.app import App
from reactivator.service.passes import enroll_and_queue, plan_pass, step_key, trace, trace_lines

ZONES = ("UTC", "Asia/Tokyo", "America/New_York", "Europe/Moscow", None)
TAGS = ("vip", "bad_payer", "wholesale")
CAMPAIGN = "winback"


@dataclass(frozen=True)
class CustomerState:
    """One customer as the tables hold them, in the terms a test can reason about."""

    subscription: Subscription
    days_since_purchase: float | None  # None: never bought
    orders: int
    revenue_cents: int
    tags: frozenset[str]
    timezone: str | None
    ladder_state: LadderState | None
    enrolled_days_after_purchase: float  # when they entered the ladder, relative to the last purchase
    active: ActiveEnrollment | None
    letter_ages_days: tuple[float, ...]  # letters sent to them this many days ago
    paused_days: float | None = None  # a pause that ends this many days from now (negative: ended)

    def paused_until(self, now: datetime) -> datetime | None:
        return None if self.paused_days is None else now + timedelta(days=self.paused_days)

    def last_purchase(self, now: datetime) -> datetime | None:
        return None if self.days_since_purchase is None else now - timedelta(days=self.days_since_purchase)

    def enrolled_at(self, now: datetime) -> datetime | None:
        last = self.last_purchase(now)
        if self.ladder_state is None or last is None:
            return None
        return min(last + timedelta(days=self.enrolled_days_after_purchase), now)  # never in the future

    def letter_times(self, now: datetime) -> list[datetime]:
        return sorted(now - timedelta(days=age) for age in self.letter_ages_days)

    def facts(
        self, now: datetime, policy: Policy, classes: ClassCutoffs, key: str, salt: str
    ) -> CustomerFacts:
        sent = self.letter_times(now)
        return CustomerFacts(
            holdout_buckets={kind: bucket(salt, CAMPAIGN, kind, key) for kind in EnrollmentKind},
            subscription=self.subscription,
            last_purchase_at=self.last_purchase(now),
            orders_count=self.orders,
            revenue_cents=self.revenue_cents,
            value_class=classes.classify(self.revenue_cents),
            tags=self.tags,
            timezone=self.timezone,
            ladder_state=self.ladder_state,
            ladder_enrolled_at=self.enrolled_at(now),
            active=self.active,
            last_letter_at=max(sent) if sent else None,
            letters_in_window=sum(1 for t in sent if t > now - policy.cap_window),
            paused_until=self.paused_until(now),
        )


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    count = draw(st.integers(1, 4))
    days = sorted(draw(st.sets(st.integers(30, 400), min_size=count, max_size=count)))
    steps = tuple(Step(f"s{i}", d, draw(st.integers(0, 40))) for i, d in enumerate(days))
    quiet = draw(st.sampled_from([None, QuietHours(time(21), time(9)), QuietHours(time(22), time(7))]))
    rules = draw(
        st.sampled_from(
            [
                ValueRules(),
                ValueRules(
                    include_classes=frozenset({ValueClass.A, ValueClass.B}),
                    exclude_tags=frozenset({"bad_payer"}),
                    include_tags=frozenset({"vip", "wholesale"}),
                    min_orders=2,
                    min_revenue_cents=10_000,
                ),
            ]
        )
    )
    return Policy(
        steps=steps,
        apology=Step("sorry", draw(st.integers(30, 250)), 0),
        rules=rules,
        min_gap=timedelta(days=draw(st.sampled_from([0, 10, 14]))),
        cap_letters=draw(st.integers(1, 3)),
        cap_window=timedelta(days=draw(st.sampled_from([7, 30]))),
        quiet_hours=quiet,
        default_timezone=draw(st.sampled_from(["UTC", "Asia/Tokyo"])),
        holdout_percent=draw(st.sampled_from([0.0, 10.0, 50.0])),
    )


@st.composite
def customer_states(draw: st.DrawFn, policy: Policy) -> CustomerState:
    cutoffs = [s.from_days for s in (*policy.steps, policy.apology)]
    days = draw(
        st.one_of(
            st.none(),
            st.floats(0, 800),
            st.sampled_from(cutoffs),  # exactly on a cutoff
            st.sampled_from(cutoffs).map(lambda d: d - 0.001),  # just before it
        )
    )
    ladder_state = draw(st.sampled_from([None, None, LadderState.LADDER, LadderState.APOLOGY]))
    active = None
    if ladder_state is not None and days is not None and draw(st.booleans()):
        kind = EnrollmentKind.APOLOGY if ladder_state is LadderState.APOLOGY else EnrollmentKind.LADDER
        # Up to one past the end: a ladder shortened under a running enrollment.
        arm = draw(st.sampled_from([None, *Arm]))
        active = ActiveEnrollment(kind, draw(st.integers(0, policy.ladder_length(kind))), arm)
    return CustomerState(
        subscription=draw(st.sampled_from([Subscription.SUBSCRIBED] * 6 + list(Subscription))),
        days_since_purchase=days,
        orders=draw(st.integers(1, 6)),
        revenue_cents=draw(st.sampled_from([500, 5_000, 20_000, 90_000])),
        tags=draw(st.frozensets(st.sampled_from(TAGS), max_size=2)),
        timezone=draw(st.sampled_from(ZONES)),
        ladder_state=ladder_state,
        enrolled_days_after_purchase=draw(st.sampled_from([-200, -30, 0, 5, 40])),
        active=active,
        letter_ages_days=tuple(draw(st.lists(st.floats(0.5, 40), max_size=3)))
        if ladder_state is not None
        else (),
        paused_days=draw(st.sampled_from([None, None, None, 30.0, -1.0, 0.0])),
    )


@st.composite
def shops(draw: st.DrawFn) -> tuple[Policy, datetime, list[CustomerState]]:
    policy = draw(policies())
    now = datetime(2026, 3, 14, draw(st.integers(0, 23)), draw(st.sampled_from([0, 30])), tzinfo=UTC)
    return policy, now, draw(st.lists(customer_states(policy), min_size=1, max_size=40))


def _reset(app: App) -> None:
    with app.db.write() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name not in ("alembic_version", "signing_keys", "holdout_salts"):
                conn.execute(delete(table))


def _write(app: App, states: list[CustomerState], now: datetime) -> None:
    with app.db.write() as conn:
        for n, s in enumerate(states, start=1):
            last = s.last_purchase(now)
            sent = s.letter_times(now)
            conn.execute(
                insert(customers).values(
                    id=n,
                    external_id=f"k{n}",
                    email=f"k{n}@example.com",
                    email_key=f"k{n}@example.com",
                    timezone=s.timezone,
                    tags=encode_tags(s.tags),
                    subscription=s.subscription.value,
                    orders_count=s.orders if last else 0,
                    revenue_cents=s.revenue_cents if last else 0,
                    annual_value_cents=s.revenue_cents if last else 0,
                    first_purchase_at=last,
                    last_purchase_at=last,
                    ladder_state=s.ladder_state.value if s.ladder_state else None,
                    ladder_enrolled_at=s.enrolled_at(now),
                    last_letter_at=max(sent) if sent else None,
                    paused_until=s.paused_until(now),
                    created_at=now,
                    updated_at=now,
                )
            )
            past = conn.execute(  # an old, finished enrollment that the letters below belong to
                insert(enrollments).values(
                    customer_id=n,
                    campaign="earlier",
                    kind="ladder",
                    status="exhausted",
                    enrolled_at=now - timedelta(days=900),
                    dormant_since=now - timedelta(days=999),
                    entry_step=0,
                    next_step=1,
                )
            ).inserted_primary_key[0]
            for i, at in enumerate(sent):
                conn.execute(
                    insert(letters).values(
                        enrollment_id=past,
                        customer_id=n,
                        campaign=CAMPAIGN,
                        kind="ladder",
                        step_index=i,
                        step_key="x",
                        discount_percent=0,
                        status="sent",
                        queued_at=at,
                        send_after=at,
                    )
                )
            if s.active is not None:
                conn.execute(
                    insert(enrollments).values(
                        customer_id=n,
                        campaign=CAMPAIGN,
                        kind=s.active.kind.value,
                        status="active",
                        enrolled_at=s.enrolled_at(now),
                        dormant_since=last,
                        entry_step=0,
                        next_step=s.active.next_step,
                        arm=s.active.arm.value if s.active.arm else None,
                    )
                )


def _expected(
    app: App, states: list[CustomerState], now: datetime
) -> tuple[dict[str, Decision], dict[str, CustomerState], ClassCutoffs]:
    with app.db.write() as conn:
        classes = class_cutoffs(conn, app.settings.value.a_share, app.settings.value.b_share)
        salt = make_holdout_salt(conn, now)
    decisions = {
        f"k{n}": decide(s.facts(now, app.policy, classes, f"k{n}", salt), app.policy, now)
        for n, s in enumerate(states, 1)
    }
    return decisions, {f"k{n}": s for n, s in enumerate(states, 1)}, classes


def _send_after(state: CustomerState, decision: Decision, policy: Policy, now: datetime) -> datetime:
    if decision.verdict is Verdict.QUIET_HOURS:
        assert policy.quiet_hours is not None
        return quiet_ends_at(now, state.timezone or policy.default_timezone, policy.quiet_hours)
    return now


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


CONTRACT = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@CONTRACT
@given(shop=shops())
def test_the_sql_plan_and_a_real_pass_match_the_pure_rules_for_every_customer(
    app: App, shop: tuple[Policy, datetime, list[CustomerState]]
) -> None:
    policy, now, states = shop
    _reset(app)
    _write(app, states, now)
    app = App(settings=app.settings, db=app.db, policy=policy)
    expected, by_id, classes = _expected(app, states, now)

    # The trace: every customer who bought long enough ago, with the verdict and step decide gives.
    with trace(app, now) as rows:
        planned = {r.external_id: r for r in rows}
    earliest = now - timedelta(days=policy.earliest_days)
    considered = {
        k for k, s in by_id.items() if (last := s.last_purchase(now)) is not None and last <= earliest
    }
    assert set(planned) == considered
    for key, decision in expected.items():
        if key not in planned:
            # Outside the plan: nothing is in question for them, whatever the reason.
            assert decision.verdict in STEPLESS_VERDICTS | {Verdict.WAITING}, (key, decision)
            if by_id[key].days_since_purchase is None:
                assert decision.verdict in {Verdict.NEVER_BOUGHT, *RULES[0].verdicts}, (key, decision)
            continue
        row = planned[key]
        assert row.verdict is decision.verdict, (key, by_id[key], decision)
        if decision.verdict not in STEPLESS_VERDICTS:
            assert (row.kind, row.step_index, row.enters, row.arm) == (
                decision.kind,
                decision.step_index,
                decision.enters,
                decision.arm,
            )

    # The same trace as JSON lines made by the database: field for field what the rows say.
    with trace_lines(app, now) as chunks:
        lines = [json.loads(line) for chunk in chunks for line in chunk]
    assert [line["customer"] for line in lines] == list(planned)  # customer order, nobody twice
    for line in lines:
        row = planned[line["customer"]]
        assert line == {
            "customer": row.external_id,
            "last_purchase_at": row.last_purchase_at.isoformat(),
            "value_class": row.value_class.value if row.value_class else None,
            "decision": row.verdict.value,
            "step": step_key(app, row.kind, row.step_index, row.verdict),
            "enters": row.enters,
            "arm": row.arm.value if row.arm else None,
        }

    # The dry run's counts, per arm.
    counted: Counter[tuple[Verdict, str | None, bool, Arm | None]] = Counter()
    for key in considered:
        d = expected[key]
        step = step_key(app, d.kind, d.step_index, d.verdict)
        counted[(d.verdict, step, d.enters and step is not None, d.arm if step else None)] += 1
    dry = plan_pass(app, now)
    assert Counter({(c.verdict, c.step_key, c.enters, c.arm): c.customers for c in dry.decisions}) == counted

    # The due letters, with the moment each may go (quiet hours end in the customer's zone).
    params = pass_parameters(policy, now, classes)
    with app.db.read() as conn:
        salt = make_holdout_salt(conn, now)
        due = {
            f"k{r.customer_id}": (
                EnrollmentKind(r.kind),
                r.step_index,
                _aware(r.send_after),
                Arm(r.arm) if r.arm else None,
            )
            for r in conn.execute(PlanQuery(policy, params, CAMPAIGN, salt).due())
        }
    due_expected = {
        key: (d.kind, d.step_index, _send_after(by_id[key], d, policy, now), d.arm)
        for key, d in expected.items()
        if d.verdict in DUE_VERDICTS
    }
    assert due == due_expected

    # One real pass writes exactly that: a letter per due customer (held back for
    # the control), and the enrollment advanced, in its arm.
    enroll_and_queue(app, now)
    with app.db.read() as conn:
        queued = {
            f"k{r.customer_id}": r
            for r in conn.execute(
                select(letters).where(letters.c.queued_at == now, letters.c.status.in_(["queued", "held"]))
            )
        }
        advanced = {
            f"k{r.customer_id}": r
            for r in conn.execute(
                select(enrollments).where(
                    enrollments.c.campaign == CAMPAIGN, enrollments.c.status.in_(["active", "exhausted"])
                )
            )
        }
    assert set(queued) == set(due_expected)
    for key, (kind, index, send_after, arm) in due_expected.items():
        assert kind is not None
        assert index is not None
        letter, step = queued[key], policy.step(kind, index)
        assert letter.status == ("held" if arm is Arm.CONTROL else "queued")
        assert (letter.coupon_code is None) == (arm is Arm.CONTROL or step.discount_percent == 0)
        assert advanced[key].arm == (arm.value if arm else None)
        assert (letter.step_key, letter.discount_percent, letter.kind) == (
            step.key,
            step.discount_percent,
            kind.value,
        )
        assert _aware(letter.send_after) == send_after
        enrollment = advanced[key]
        following, done = advance(kind, index, policy)
        assert enrollment.next_step == following
        assert enrollment.status == ("exhausted" if done else "active")


def test_the_planner_refuses_to_build_when_core_names_a_rule_it_has_no_sql_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy = Policy(steps=(Step("a", 90, 10),), apology=Step("sorry", 90, 0))
    params = pass_parameters(policy, datetime(2026, 3, 14, tzinfo=UTC), None)
    extra = RULES[1].__class__("no_sql_for_this", frozenset({Verdict.SEND}), lambda case: None)
    monkeypatch.setattr(planner, "RULES", (*RULES, extra))
    with pytest.raises(PlannerMismatch, match="no SQL twin for no_sql_for_this"):
        PlanQuery(policy, params, CAMPAIGN)


def test_the_summary_key_holds_any_number_of_steps(app: App) -> None:
    many = Policy(steps=tuple(Step(f"s{i}", 30 + 10 * i, 5) for i in range(40)), apology=Step("sorry", 90, 0))
    plan = PlanQuery(many, pass_parameters(many, datetime(2026, 3, 14, tzinfo=UTC), None), CAMPAIGN)
    for verdict in Verdict:
        for kind in EnrollmentKind:
            for step in (None, 0, 17, 39):
                for enters in (False, True):
                    for arm in planner.ARM_CODES:
                        parts: dict[str, Any] = {
                            "verdict": verdict,
                            "kind": kind,
                            "step": step,
                            "enters": enters,
                            "arm": arm,
                        }
                        key = _encode(plan, **parts)
                        assert plan.decode_summary_key(key) == (verdict, kind, step, enters, arm)


def _encode(
    plan: PlanQuery, verdict: Verdict, kind: EnrollmentKind, step: int | None, enters: bool, arm: Arm | None
) -> int:
    steps = plan.policy.longest_ladder + 1
    digit = plan.policy.longest_ladder if step is None else step
    code = planner.VERDICT_CODES.index(verdict)
    kinds = len(planner.KIND_CODES)
    packed = ((code * steps + digit) * kinds + planner.KIND_CODES.index(kind)) * 2 + int(enters)
    return packed * len(planner.ARM_CODES) + planner.ARM_CODES.index(arm)
