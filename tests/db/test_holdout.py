"""The holdout on both backends: who is in the control group, and that it stays so.

Arms are decided inside the pass's SQL; these tests hold them equal to
core.holdout's pure function, so every backend, worker and row order agrees.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from scipy.stats import binomtest
from sqlalchemy import delete, insert, select, update

from reactivator.config.policy import policy_from_settings
from reactivator.core.holdout import Arm, arm_for, bucket, bucket_of
from reactivator.core.model import EnrollmentKind
from reactivator.db.holdout import holdout_bucket, holdout_salt
from reactivator.db.tables import customers, enrollments, holdout_salts, letters, metadata
from reactivator.service.app import App, app_from_settings
from reactivator.service.passes import enroll_and_queue, plan_pass
from tests.conftest import NOW, make_settings

CAMPAIGN = "winback"


def holdout_app(app: App, percent: float) -> App:
    settings = app.settings.model_copy(
        update={"campaign": app.settings.campaign.model_copy(update={"holdout_percent": percent})}
    )
    return App(settings=settings, db=app.db, policy=policy_from_settings(settings))


def dormant_shop(app: App, keys: list[str], days: float = 100) -> None:
    """Customers who bought once, `days` ago, written in the order given."""
    last = NOW - timedelta(days=days)
    rows: list[dict[str, Any]] = [
        {
            "external_id": key,
            "email": f"{key}@example.com",
            "email_key": f"{key}@example.com",
            "orders_count": 1,
            "revenue_cents": 5000,
            "annual_value_cents": 5000,
            "first_purchase_at": last,
            "last_purchase_at": last,
            "created_at": last,
            "updated_at": last,
        }
        for key in keys
    ]
    with app.db.write() as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(customers), rows[start : start + 2000])


def arms(app: App) -> dict[str, str | None]:
    with app.db.read() as conn:
        query = select(customers.c.external_id, enrollments.c.arm).join(
            enrollments, enrollments.c.customer_id == customers.c.id
        )
        return {row.external_id: row.arm for row in conn.execute(query)}


def salt_of(app: App) -> str:
    with app.db.read() as conn:
        found = holdout_salt(conn)
    assert found is not None
    return found


def test_the_database_puts_every_text_in_the_bucket_core_computes(app: App) -> None:
    texts = ["", "a", "Олег:ru", "x" * 300, *(f"salt:winback:ladder:C{n:05d}" for n in range(300))]
    with app.db.read() as conn:
        got = [conn.execute(select(holdout_bucket(t))).scalar_one() for t in texts]
    assert got == [bucket_of(t) for t in texts]


def test_the_control_share_is_the_setting_within_binomial_tolerance_and_matches_core(app: App) -> None:
    keys = [f"C{n:05d}" for n in range(10_000)]
    dormant_shop(app, keys)
    app = holdout_app(app, 10)
    enroll_and_queue(app, NOW)
    found = arms(app)
    control = sum(1 for arm in found.values() if arm == Arm.CONTROL.value)
    assert len(found) == 10_000
    assert binomtest(control, 10_000, 0.10).pvalue > 0.001, control
    salt = salt_of(app)
    expected = {k: arm_for(bucket(salt, CAMPAIGN, EnrollmentKind.LADDER, k), 10) for k in keys}
    assert found == {k: a.value if a else None for k, a in expected.items()}


def test_the_arms_do_not_depend_on_the_order_of_the_rows_or_on_a_rerun(app: App) -> None:
    keys = [f"K{n}" for n in range(600)]
    app = holdout_app(app, 30)
    dormant_shop(app, keys)
    enroll_and_queue(app, NOW)
    first = arms(app)
    enroll_and_queue(app, NOW + timedelta(hours=1))  # a rerun changes no arm
    assert arms(app) == first
    salt = salt_of(app)
    with app.db.write() as conn:  # the same shop again, its rows in another order
        for table in reversed(metadata.sorted_tables):
            if table.name not in ("alembic_version", "signing_keys", "holdout_salts"):
                conn.execute(delete(table))
    shuffled = keys[:]
    random.Random(7).shuffle(shuffled)
    dormant_shop(app, shuffled)
    enroll_and_queue(app, NOW)
    assert salt_of(app) == salt
    assert arms(app) == first
    assert 0 < sum(1 for a in first.values() if a == "control") < 600


def test_changing_the_share_moves_only_customers_who_enrol_later(app: App) -> None:
    dormant_shop(app, [f"early{n}" for n in range(400)], days=100)
    enroll_and_queue(holdout_app(app, 10), NOW)
    before = arms(app)
    dormant_shop(app, [f"late{n}" for n in range(400)], days=100)
    later = NOW + timedelta(days=1)
    enroll_and_queue(holdout_app(app, 40), later)
    after = arms(app)
    assert {k: after[k] for k in before} == before
    late_control = sum(1 for k, a in after.items() if k.startswith("late") and a == "control")
    assert binomtest(late_control, 400, 0.40).pvalue > 0.001, late_control


def test_the_apology_has_a_holdout_of_its_own(app: App) -> None:
    keys = [f"A{n}" for n in range(2000)]
    dormant_shop(app, keys, days=120)
    with app.db.write() as conn:  # they all went through the ladder, came back, and lapsed again
        conn.execute(
            update(customers).values(ladder_state="ladder", ladder_enrolled_at=NOW - timedelta(days=400))
        )
    app = holdout_app(app, 10)
    enroll_and_queue(app, NOW)
    found = arms(app)
    salt = salt_of(app)
    with app.db.read() as conn:
        kinds = set(conn.execute(select(enrollments.c.kind)).scalars())
    assert kinds == {"apology"}
    expected = {k: arm_for(bucket(salt, CAMPAIGN, EnrollmentKind.APOLOGY, k), 10) for k in keys}
    assert found == {k: a.value if a else None for k, a in expected.items()}
    ladder_arms = {k: arm_for(bucket(salt, CAMPAIGN, EnrollmentKind.LADDER, k), 10) for k in keys}
    assert expected != ladder_arms  # its own draw, not the ladder's


def test_a_control_enrollment_walks_the_ladder_with_held_letters_and_no_coupon(app: App) -> None:
    keys = [f"W{n}" for n in range(300)]
    dormant_shop(app, keys, days=100)
    app = holdout_app(app, 50)
    dry = plan_pass(app, NOW)
    enroll_and_queue(app, NOW)
    found = arms(app)
    control = {k for k, a in found.items() if a == "control"}
    assert dry.due_by_arm() == {"none": 0, "treatment": 300 - len(control), "control": len(control)}
    later = NOW + timedelta(days=81)  # 181 days dormant: everyone's second step is due
    enroll_and_queue(app, later)
    with app.db.read() as conn:
        rows = conn.execute(
            select(customers.c.external_id, letters.c.status, letters.c.coupon_code, letters.c.step_key).join(
                customers, customers.c.id == letters.c.customer_id
            )
        ).all()
    for key, status, coupon, _step in rows:
        if key in control:
            assert (status, coupon) == ("held", None)
        else:
            assert status == "queued"
            assert coupon is not None
    steps = {(key, step) for key, _, _, step in rows}
    assert steps == {(k, s) for k in keys for s in ("we-miss-you", "did-we-say-something-wrong")}


def test_no_holdout_means_no_arm_and_every_letter_queued(app: App) -> None:
    dormant_shop(app, [f"N{n}" for n in range(50)])
    enroll_and_queue(app, NOW)
    assert set(arms(app).values()) == {None}
    with app.db.read() as conn:
        assert set(conn.execute(select(letters.c.status)).scalars()) == {"queued"}


def test_a_database_without_a_salt_gets_one_at_its_first_pass(sqlite_url: str) -> None:
    app = holdout_app(app_from_settings(make_settings(sqlite_url)), 10)
    with app.db.write() as conn:
        conn.execute(delete(holdout_salts))
    dormant_shop(app, [f"S{n}" for n in range(20)])
    enroll_and_queue(app, NOW)
    assert len(salt_of(app)) == 32
    assert None not in set(arms(app).values())
    app.db.dispose()
