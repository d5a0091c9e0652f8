"""The holdout report on real databases: simulated shops with a known effect, and the report's shape."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest
from scipy.stats import binom
from sqlalchemy import insert, select

from reactivator.config.policy import policy_from_settings
from reactivator.db.tables import customers, enrollments, orders
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import App, app_from_settings
from reactivator.service.delivery import send_due
from reactivator.service.passes import enroll_and_queue
from reactivator.service.reporting.as_json import report_json
from reactivator.service.reporting.campaign import campaign_report
from tests.conftest import NOW, make_settings
from tests.db.test_holdout import dormant_shop

LATER = NOW + timedelta(days=400)


def with_holdout(app: App, percent: float) -> App:
    campaign = app.settings.campaign.model_copy(update={"holdout_percent": percent})
    settings = app.settings.model_copy(update={"campaign": campaign})
    return App(settings=settings, db=app.db, policy=policy_from_settings(settings))


def enrolled(app: App) -> list[tuple[int, str]]:
    with app.db.read() as conn:
        return [
            (r.customer_id, r.arm) for r in conn.execute(select(enrollments.c.customer_id, enrollments.c.arm))
        ]


def simulate_returns(app: App, rng: random.Random, base: float, lift: float, days: float = 20) -> None:
    """Every enrolled customer comes back with `base` chance, plus `lift` if they were sent the letters."""
    rows: list[dict[str, Any]] = []
    for customer_id, arm in enrolled(app):
        if rng.random() < base + (lift if arm == "treatment" else 0.0):
            rows.append(
                {
                    "external_id": f"back-{customer_id}",
                    "customer_id": customer_id,
                    "placed_at": NOW + timedelta(days=rng.uniform(1, days)),
                    "amount_cents": rng.randint(2_000, 12_000),
                    "currency": "USD",
                    "created_at": NOW,
                }
            )
    if rows:
        with app.db.write() as conn:
            conn.execute(insert(orders), rows)


def test_on_simulated_shops_the_interval_covers_the_true_lift_about_95_percent_of_the_time(
    sqlite_url: str,
) -> None:
    seeds, true_lift = 40, 0.06
    covered = 0
    for seed in range(seeds):
        app = with_holdout(app_from_settings(make_settings(sqlite_url)), 20)
        with app.db.write() as conn:
            for table in ("orders", "letters", "enrollments", "customers"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
        dormant_shop(app, [f"s{seed}-{n}" for n in range(1_200)], days=100)
        enroll_and_queue(app, NOW)
        simulate_returns(app, random.Random(seed), base=0.05, lift=true_lift)
        overall = campaign_report(app, LATER).holdout
        assert overall is not None
        assert overall.overall is not None
        lift = overall.overall.comparison.return_rate_lift
        assert lift is not None
        covered += lift.low <= true_lift <= lift.high
        app.db.dispose()
    # Fewer covers than this happen less than once in a thousand runs of a correct 95% interval.
    assert covered >= binom.ppf(0.001, seeds, 0.95), covered


def test_the_report_compares_the_arms_per_tier_and_gives_the_documented_json(app: App) -> None:
    app = with_holdout(app, 30)
    dormant_shop(app, [f"a{n}" for n in range(300)], days=100)
    dormant_shop(app, [f"b{n}" for n in range(300)], days=200)
    enroll_and_queue(app, NOW)
    simulate_returns(app, random.Random(1), base=0.05, lift=0.30)
    report = campaign_report(app, LATER)
    shape = report_json(report, detail=True)
    holdout = shape["holdout"]
    assert holdout["percent"] == 30
    assert [t["tier"] for t in holdout["tiers"]] == [90, 180]
    for group in [*holdout["tiers"], holdout["overall"]]:
        for arm in ("treatment", "control"):
            assert set(group[arm]) >= {"enrolled", "returned", "revenue"}
        assert set(group["return_rate_lift"]) == {"value", "ci95"}
        assert set(group["incremental_revenue"]) == {"value", "ci95"}
        low, high = group["return_rate_lift"]["ci95"]
        assert low <= group["return_rate_lift"]["value"] <= high
        assert isinstance(group["significant"], bool)
    overall = holdout["overall"]
    assert overall["treatment"]["enrolled"] + overall["control"]["enrolled"] == 600
    assert overall["significant"] is True  # a 30-point lift on 600 customers
    assert holdout["classes"]
    assert all("romi" in step for step in shape["steps"])
    # The keys the report had before the holdout are all still there.
    assert {"campaign", "currency", "steps", "returned", "romi", "cost_cents", "letters_sent"} <= set(shape)


def test_without_a_holdout_the_report_says_so_and_keeps_its_old_figures(app: App) -> None:
    dormant_shop(app, [f"n{n}" for n in range(20)])
    enroll_and_queue(app, NOW)
    report = campaign_report(app, LATER)
    assert report.holdout is None
    assert report_json(report)["holdout"] is None


def test_the_control_groups_returns_are_not_credited_to_the_letters(app: App) -> None:
    from tests.helpers import buy

    app = with_holdout(app, 50)
    keys = [f"c{n}" for n in range(60)]
    dormant_shop(app, keys)
    enroll_and_queue(app, NOW)
    asyncio.run(send_due(app, MemoryMailer(), NOW))
    arms = dict(enrolled(app))
    with app.db.read() as conn:
        ids = {r.external_id: r.id for r in conn.execute(select(customers.c.external_id, customers.c.id))}
    for key in keys:  # everybody comes back, through the real purchase path
        buy(app, key, NOW + timedelta(days=3), now=NOW + timedelta(days=3))
    report = campaign_report(app, LATER)
    treated = sum(1 for key in keys if arms[ids[key]] == "treatment")
    assert sum(s.returned for s in report.steps) == treated
    assert report.holdout is not None
    assert report.holdout.overall is not None
    assert report.holdout.overall.control.returned == 60 - treated


@pytest.mark.parametrize("period", ["before", "after"])
def test_a_period_reads_only_the_enrollments_made_in_it(app: App, period: str) -> None:
    app = with_holdout(app, 20)
    dormant_shop(app, [f"p{n}" for n in range(100)])
    enroll_and_queue(app, NOW)
    if period == "before":
        report = campaign_report(app, LATER, until=NOW - timedelta(days=1))
        assert report.holdout is not None
        assert report.holdout.overall is None
    else:
        report = campaign_report(app, LATER, since=NOW - timedelta(days=1))
        assert report.holdout is not None
        assert report.holdout.overall is not None
        overall = report.holdout.overall
        assert overall.treatment.enrolled + overall.control.enrolled == 100


def test_per_step_the_report_counts_what_people_did_with_the_letters(app: App) -> None:
    from reactivator.db.engagement import record_engagement, record_survey_answer
    from reactivator.service.customers import unsubscribe
    from tests.helpers import letters_of

    keys = [f"e{n}" for n in range(6)]
    dormant_shop(app, keys)
    enroll_and_queue(app, NOW)
    asyncio.run(send_due(app, MemoryMailer(), NOW))
    letter = {k: letters_of(app, k)[0] for k in keys}
    later = NOW + timedelta(hours=2)
    with app.db.write() as conn:

        def record(key: str, kind: str, machine: bool) -> None:
            row = letter[key]
            record_engagement(conn, int(row["id"]), int(row["customer_id"]), kind, None, machine, "x", later)

        record("e0", "open", False)
        record("e0", "click", False)
        record("e1", "open", False)
        record("e1", "open", False)  # twice: one letter opened
        record("e2", "open", True)  # an image proxy only
        record("e3", "click", False)  # clicked with images off
        row = letter["e4"]
        record_survey_answer(conn, int(row["customer_id"]), int(row["id"]), "too-expensive", later)
    unsubscribe(app, "e5", later)
    report = campaign_report(app, LATER)
    step = next(s for s in report.steps if s.step_key == "we-miss-you")
    assert (step.sent, step.delivered) == (6, 6)
    assert (step.opened, step.clicked, step.opened_by_machines) == (2, 2, 1)
    assert (step.unsubscribed, step.bounced) == (1, 0)
    assert [(a.reason, a.step_key, a.tier, a.answers) for a in report.survey] == [
        ("too-expensive", "we-miss-you", "90+ days", 1)
    ]
