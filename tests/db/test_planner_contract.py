"""The set-based planner and the pure rules agree, customer for customer, on both backends.

Random but consistent customer states are written straight into the tables;
the SQL trace of a pass must give each customer the verdict (and step) that
`reactivator.core.ladder.decide` gives for the same facts.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import insert

from reactivator.core.ladder import decide
from reactivator.core.model import (
    STEPLESS_VERDICTS,
    ActiveEnrollment,
    CustomerFacts,
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
from reactivator.core.records import encode_tags
from reactivator.db.planner import class_cutoffs
from reactivator.db.tables import customers, enrollments, letters
from reactivator.service.app import App
from reactivator.service.passes import trace

ZONES = ("UTC", "Asia/Tokyo", "America/New_York", "Europe/Moscow", None)
TAGS = ("vip", "bad_payer", "wholesale")

DEFAULT = Policy(
    steps=(Step("a", 90, 10), Step("b", 180, 15), Step("c", 360, 20)),
    apology=Step("sorry", 90, 0),
)
STRICT = Policy(
    steps=(Step("a", 60, 10), Step("b", 120, 15)),
    apology=Step("sorry", 200, 0),
    rules=ValueRules(
        include_classes=frozenset({ValueClass.A, ValueClass.B}),
        exclude_tags=frozenset({"bad_payer"}),
        include_tags=frozenset({"vip", "wholesale"}),
        min_orders=2,
        min_revenue_cents=10_000,
    ),
    min_gap=timedelta(days=10),
    cap_letters=2,
    cap_window=timedelta(days=30),
    quiet_hours=QuietHours(time(22), time(7)),
    default_timezone="Asia/Tokyo",
)


def _random_state(rng: random.Random, now: datetime, policy: Policy) -> dict[str, object]:
    days = rng.choice([rng.uniform(0, 800), rng.choice([60, 90, 120, 180, 200, 360])])
    last = now - timedelta(days=days)
    if rng.random() < 0.1:
        last = now - timedelta(days=rng.choice([s.from_days for s in policy.steps]))  # exactly on a cutoff
    state: dict[str, object] = {
        "subscription": rng.choice([Subscription.SUBSCRIBED] * 8 + list(Subscription)),
        "last": last,
        "orders": rng.randint(1, 6),
        "revenue": rng.choice([500, 5_000, 20_000, 90_000]),
        "tags": frozenset(t for t in TAGS if rng.random() < 0.25),
        "timezone": rng.choice(ZONES),
        "ladder_state": None,
        "ladder_enrolled_at": None,
        "active": None,
        "letter_times": [],
    }
    history = rng.random()
    if history < 0.35:
        state["ladder_state"] = LadderState.LADDER
        state["ladder_enrolled_at"] = last + timedelta(days=rng.choice([-30, 0, 5, 40]))
        if rng.random() < 0.5 and state["ladder_enrolled_at"] <= now:  # type: ignore[operator]
            state["active"] = ActiveEnrollment(EnrollmentKind.LADDER, rng.randrange(len(policy.steps)))
    elif history < 0.5:
        state["ladder_state"] = LadderState.APOLOGY
        state["ladder_enrolled_at"] = last - timedelta(days=200)
        if rng.random() < 0.5:
            state["active"] = ActiveEnrollment(EnrollmentKind.APOLOGY, 0)
    if state["ladder_state"] is not None and rng.random() < 0.7:
        state["letter_times"] = sorted(
            now - timedelta(days=rng.uniform(0.5, 40)) for _ in range(rng.randint(1, 3))
        )
    return state


def _write(app: App, states: list[dict[str, object]], now: datetime) -> None:
    with app.db.write() as conn:
        for n, s in enumerate(states, start=1):
            revenue = int(s["revenue"])  # type: ignore[call-overload]
            conn.execute(
                insert(customers).values(
                    id=n,
                    external_id=f"k{n}",
                    email=f"k{n}@example.com",
                    email_key=f"k{n}@example.com",
                    timezone=s["timezone"],
                    tags=encode_tags(s["tags"]),  # type: ignore[arg-type]
                    subscription=s["subscription"].value,  # type: ignore[attr-defined]
                    orders_count=s["orders"],
                    revenue_cents=revenue,
                    annual_value_cents=revenue,
                    first_purchase_at=s["last"],
                    last_purchase_at=s["last"],
                    ladder_state=s["ladder_state"].value if s["ladder_state"] else None,  # type: ignore[attr-defined]
                    ladder_enrolled_at=s["ladder_enrolled_at"],
                    last_letter_at=max(s["letter_times"]) if s["letter_times"] else None,  # type: ignore[type-var]
                    created_at=now,
                    updated_at=now,
                )
            )
            past = conn.execute(
                insert(enrollments).values(
                    customer_id=n,
                    campaign="winback",
                    kind="ladder",
                    status="exhausted",
                    enrolled_at=now - timedelta(days=900),
                    dormant_since=now - timedelta(days=999),
                    entry_step=0,
                    next_step=1,
                )
            ).inserted_primary_key[0]
            for i, at in enumerate(s["letter_times"]):  # type: ignore[arg-type]
                conn.execute(
                    insert(letters).values(
                        enrollment_id=past,
                        customer_id=n,
                        campaign="winback",
                        kind="ladder",
                        step_index=i,
                        step_key="x",
                        discount_percent=0,
                        status="sent",
                        queued_at=at,
                        send_after=at,
                    )
                )
            active = s["active"]
            if active is not None:
                conn.execute(
                    insert(enrollments).values(
                        customer_id=n,
                        campaign="winback",
                        kind=active.kind.value,
                        status="active",  # type: ignore[attr-defined]
                        enrolled_at=s["ladder_enrolled_at"],
                        dormant_since=s["last"],
                        entry_step=0,
                        next_step=active.next_step,  # type: ignore[attr-defined]
                    )
                )


@pytest.mark.parametrize("policy", [DEFAULT, STRICT], ids=["default", "strict"])
@pytest.mark.parametrize("seed", [1, 2])
def test_sql_plan_matches_the_pure_rules_for_every_customer(app: App, policy: Policy, seed: int) -> None:
    rng = random.Random(seed)
    now = datetime(2026, 3, 14, rng.randrange(24), 30, tzinfo=UTC)
    states = [_random_state(rng, now, policy) for _ in range(250)]
    _write(app, states, now)
    app = App(settings=app.settings, db=app.db, policy=policy)
    with app.db.read() as conn:
        classes = class_cutoffs(conn, app.settings.value.a_share, app.settings.value.b_share)
    with trace(app, now) as rows:
        planned = {r.external_id: r for r in rows}

    earliest = now - timedelta(days=policy.earliest_days)
    checked = 0
    seen: set[Verdict] = set()
    for n, s in enumerate(states, start=1):
        letter_times: list[datetime] = s["letter_times"]  # type: ignore[assignment]
        facts = CustomerFacts(
            subscription=s["subscription"],  # type: ignore[arg-type]
            last_purchase_at=s["last"],  # type: ignore[arg-type]
            orders_count=s["orders"],  # type: ignore[arg-type]
            revenue_cents=s["revenue"],  # type: ignore[arg-type]
            value_class=classes.classify(int(s["revenue"])),  # type: ignore[call-overload]
            tags=s["tags"],  # type: ignore[arg-type]
            timezone=s["timezone"],  # type: ignore[arg-type]
            ladder_state=s["ladder_state"],  # type: ignore[arg-type]
            ladder_enrolled_at=s["ladder_enrolled_at"],  # type: ignore[arg-type]
            active=s["active"],  # type: ignore[arg-type]
            last_letter_at=max(letter_times) if letter_times else None,
            letters_in_window=sum(1 for t in letter_times if t > now - policy.cap_window),
        )
        expected = decide(facts, policy, now)
        seen.add(expected.verdict)
        row = planned.get(f"k{n}")
        if s["last"] > earliest:  # type: ignore[operator]
            assert row is None, f"k{n} is not dormant yet but was considered"
            assert expected.verdict in (Verdict.NOT_DORMANT, Verdict.WAITING, *STEPLESS_VERDICTS)
            continue
        assert row is not None, f"k{n} is dormant but missing from the plan"
        assert row.verdict is expected.verdict, (f"k{n}", s, expected)
        if expected.verdict not in STEPLESS_VERDICTS:
            assert (row.kind, row.step_index, row.enters) == (
                expected.kind,
                expected.step_index,
                expected.enters,
            )
        checked += 1
    assert checked > 100  # the comparison really covered most customers
    assert len(seen) >= 8, seen  # and many different reasons
