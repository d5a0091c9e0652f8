"""Segments and the campaign report on both backends: the money is counted right."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from reactivator.config.campaign import SegmentSettings
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import App, app_from_settings
from reactivator.service.customers import show
from reactivator.service.delivery import send_due
from reactivator.service.passes import enroll_and_queue
from reactivator.service.reporting.campaign import campaign_report
from reactivator.service.reporting.segments import segments
from tests.conftest import NOW, make_settings
from tests.helpers import add_customer, buy, dormant_customer, enrollments_of, letters_of


def test_segments_count_customers_per_tier_with_their_lifetime_value(app: App) -> None:
    dormant_customer(app, "t1", NOW, 100)  # one order of 50.00: 50/year x 3 years = 150.00
    dormant_customer(app, "t2", NOW, 200)
    dormant_customer(app, "t3", NOW, 400, tags=frozenset({"vip"}))
    dormant_customer(app, "active", NOW, 10)
    add_customer(app, "never", NOW)
    report = segments(app, NOW)
    assert [t.customers for t in report.tiers] == [1, 1, 1]
    assert [t.label for t in report.tiers] == ["90-179 days", "180-359 days", "360+ days"]
    assert [t.money_at_stake_cents for t in report.tiers] == [15000, 15000, 15000]
    assert report.total_at_stake_cents == 45000


def test_report_counts_returns_revenue_discount_and_romi(db_url: str) -> None:
    app = app_from_settings(make_settings(db_url, campaign={"cost_per_letter": 0.5}))
    dormant_customer(app, "a", NOW, 100)
    dormant_customer(app, "b", NOW, 100)
    dormant_customer(app, "c", NOW, 200)
    enroll_and_queue(app, NOW)
    asyncio.run(send_due(app, MemoryMailer(), NOW))
    code = str(letters_of(app, "a")[0]["coupon_code"])
    buy(app, "a", NOW + timedelta(days=2), amount_cents=9000, coupon=code)  # paid 90.00 after 10% off
    buy(app, "a", NOW + timedelta(days=20), amount_cents=3000)  # and came again
    buy(app, "c", NOW + timedelta(days=3), amount_cents=6000)  # no coupon
    report = campaign_report(app, NOW + timedelta(days=400))
    steps = {s.step_key: s for s in report.steps}
    assert (steps["we-miss-you"].sent, steps["we-miss-you"].returned) == (2, 1)
    assert steps["we-miss-you"].return_revenue_cents == 9000
    assert steps["we-miss-you"].revenue_since_return_cents == 12000
    assert steps["we-miss-you"].discount_cents == 1000  # 10% of the 100.00 list price
    assert steps["did-we-say-something-wrong"].returned == 1
    assert report.letters_sent == 3
    assert report.letter_cost_cents == 150
    assert report.cost_cents == 1150
    assert report.revenue_since_return_cents == 18000
    assert report.romi == (18000 - 1150) / 1150
    app.db.dispose()


def test_romi_is_not_invented_when_nothing_was_spent(app: App) -> None:
    assert campaign_report(app, NOW + timedelta(days=400)).romi is None


def test_a_purchase_within_the_attribution_window_after_the_last_step_still_counts(app: App) -> None:
    dormant_customer(app, "late", NOW, 400)  # enters at the last step: exhausted at once
    enroll_and_queue(app, NOW)
    assert enrollments_of(app, "late")[0]["status"] == "exhausted"
    buy(app, "late", NOW + timedelta(days=20))
    assert enrollments_of(app, "late")[0]["status"] == "returned"


def test_a_purchase_long_after_the_ladder_does_not_count_as_its_return(app: App) -> None:
    dormant_customer(app, "gone", NOW, 400)
    enroll_and_queue(app, NOW)
    buy(app, "gone", NOW + timedelta(days=200))
    assert enrollments_of(app, "gone")[0]["status"] == "exhausted"


def test_an_earlier_purchase_arriving_late_cancels_an_enrollment_made_on_stale_data(app: App) -> None:
    dormant_customer(app, "s", NOW, 100)
    enroll_and_queue(app, NOW)
    buy(app, "s", NOW - timedelta(days=3), now=NOW + timedelta(hours=1))  # placed before we enrolled
    (enrollment,) = enrollments_of(app, "s")
    assert enrollment["status"] == "cancelled"
    assert letters_of(app, "s")[0]["status"] == "cancelled"
    # the customer is a plain active customer again, not "lost twice"
    assert show(app, "s", NOW).status == "active"


def test_a_returned_customer_is_shown_as_returned(app: App) -> None:
    dormant_customer(app, "r", NOW, 100)
    enroll_and_queue(app, NOW)
    buy(app, "r", NOW + timedelta(days=1))
    view = show(app, "r", NOW + timedelta(days=2))
    assert view.status == "returned"
    assert view.enrollments[0]["status"] == "returned"


def test_a_customer_who_returns_twice_is_not_credited_twice_for_the_same_orders(app: App) -> None:
    dormant_customer(app, "twice", NOW, 100)
    enroll_and_queue(app, NOW)
    asyncio.run(send_due(app, MemoryMailer(), NOW))
    buy(app, "twice", NOW + timedelta(days=1), amount_cents=1000)  # back from the ladder
    later = NOW + timedelta(days=200)
    enroll_and_queue(app, later)  # lost twice: the apology
    asyncio.run(send_due(app, MemoryMailer(), later))
    buy(app, "twice", later + timedelta(days=1), amount_cents=5000)  # back again
    report = campaign_report(app, NOW + timedelta(days=400))
    assert report.returned == 2
    assert report.revenue_since_return_cents == 6000


def test_segment_detail_counts_who_can_be_mailed_and_the_value_classes(app: App) -> None:
    from reactivator.service.customers import unsubscribe

    for n, days in enumerate((100, 110, 120, 130, 140)):
        dormant_customer(app, f"d{n}", NOW, days)
    unsubscribe(app, "d0", NOW)
    buy(app, "d1", NOW - timedelta(days=300), amount_cents=900_000, order_id="big")  # the most valuable
    (tier, *_rest) = segments(app, NOW, detail=True).tiers
    assert (tier.customers, tier.reachable) == (5, 4)
    assert tier.class_a == 1
    assert (tier.class_a + tier.class_b + tier.class_c) == 5
    assert segments(app, NOW).tiers[0].reachable is None  # the lean report reads less


def test_the_customer_page_calls_dormant_whoever_the_ladder_would_write_to(db_url: str) -> None:
    # segment tiers start later than the first letter: dormancy still follows the ladder
    settings = make_settings(db_url, segments=SegmentSettings(tiers=(120, 240)))
    app = app_from_settings(settings)
    try:
        dormant_customer(app, "d", NOW, 100)  # past the 90-day first step, before the 120-day tier
        dormant_customer(app, "a", NOW, 30)
        assert show(app, "d", NOW).status == "dormant"
        assert show(app, "a", NOW).status == "active"
    finally:
        app.db.dispose()
