"""A real pass on both backends: enrollment, the ladder, returns, lost twice, opt-outs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from reactivator.core.model import Verdict
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import App, app_from_settings
from reactivator.service.customers import unsubscribe
from reactivator.service.delivery import send_due
from reactivator.service.passes import enroll_and_queue, plan_pass
from tests.conftest import NOW, make_settings
from tests.helpers import buy, customer_row, dormant_customer, enrollments_of, letters_of


def run(app: App, at=NOW, mailer: MemoryMailer | None = None) -> MemoryMailer:
    mailer = mailer or MemoryMailer()
    enroll_and_queue(app, at)
    asyncio.run(send_due(app, mailer, at))
    return mailer


def test_customer_first_seen_at_200_days_gets_step_two_only(app: App) -> None:
    dormant_customer(app, "c1", NOW, 200)
    run(app)
    sent = letters_of(app, "c1")
    assert [(x["step_key"], x["status"]) for x in sent] == [("did-we-say-something-wrong", "sent")]
    assert sent[0]["discount_percent"] == 15


def test_customers_dormant_less_than_the_first_tier_and_never_buyers_get_nothing(app: App) -> None:
    dormant_customer(app, "fresh", NOW, 89)
    from tests.helpers import add_customer

    add_customer(app, "never", NOW - timedelta(days=400))
    mailer = run(app)
    assert mailer.sent == []
    assert letters_of(app, "fresh") == []
    assert letters_of(app, "never") == []


def test_running_the_same_pass_twice_queues_nothing_new(app: App) -> None:
    dormant_customer(app, "c1", NOW, 100)
    dormant_customer(app, "c2", NOW, 400)
    first = enroll_and_queue(app, NOW)
    second = enroll_and_queue(app, NOW)
    assert first.writes is not None
    assert second.writes is not None
    assert (first.writes.enrolled, first.writes.queued) == (2, 2)
    assert (second.writes.enrolled, second.writes.queued) == (0, 0)
    assert len(letters_of(app, "c1")) == 1
    assert len(letters_of(app, "c2")) == 1


def test_ladder_climbs_step_by_step_and_is_exhausted_after_the_last(app: App) -> None:
    dormant_customer(app, "c1", NOW, 90)
    run(app, NOW)  # day 90: we-miss-you
    run(app, NOW + timedelta(days=30))  # day 120: waiting for day 180
    run(app, NOW + timedelta(days=90))  # day 180: step two
    run(app, NOW + timedelta(days=270))  # day 360: step three
    run(app, NOW + timedelta(days=400))  # nothing more
    keys = [letter["step_key"] for letter in letters_of(app, "c1")]
    assert keys == ["we-miss-you", "did-we-say-something-wrong", "our-promise"]
    (enrollment,) = enrollments_of(app, "c1")
    assert enrollment["status"] == "exhausted"


def test_each_coupon_is_unique_and_expires_after_the_configured_days(app: App) -> None:
    for n in range(20):
        dormant_customer(app, f"c{n}", NOW, 100 + n)
    run(app)
    codes = [x["coupon_code"] for n in range(20) for x in letters_of(app, f"c{n}")]
    assert len(codes) == 20
    assert len(set(codes)) == 20
    letter = letters_of(app, "c0")[0]
    assert letter["coupon_expires_at"] == NOW + timedelta(days=30)
    assert str(letter["message_id"]).startswith("<")
    assert str(letter["message_id"]).endswith("@shop.example.com>")


def test_purchase_after_enrollment_marks_returned_and_cancels_unsent_letters(app: App) -> None:
    dormant_customer(app, "c1", NOW, 100, timezone="Asia/Tokyo")  # 21:00 in Tokyo: quiet hours
    dormant_customer(app, "c2", NOW, 100)
    enroll_and_queue(app, NOW - timedelta(hours=6))  # 15:00 in Tokyo: enrolls both, sends nothing yet
    returned = buy(app, "c1", NOW, amount_cents=4200)
    assert [r.customer_external_id for r in returned] == ["c1"]
    (enrollment,) = enrollments_of(app, "c1")
    assert enrollment["status"] == "returned"
    assert enrollment["return_amount_cents"] == 4200
    assert [letter["status"] for letter in letters_of(app, "c1")] == ["cancelled"]
    assert customer_row(app, "c1")["returned_at"] == NOW


def test_order_with_the_letters_coupon_is_attributed_to_that_letter(app: App) -> None:
    dormant_customer(app, "c1", NOW, 100)
    run(app)
    code = str(letters_of(app, "c1")[0]["coupon_code"])
    buy(app, "c1", NOW + timedelta(days=3), amount_cents=9000, coupon=code.lower())
    (enrollment,) = enrollments_of(app, "c1")
    assert enrollment["status"] == "returned"
    assert enrollment["return_step"] == "we-miss-you"
    assert enrollment["return_coupon"] == code


def test_returned_customer_who_lapses_again_gets_only_the_apology_then_nothing(app: App) -> None:
    dormant_customer(app, "c1", NOW, 100)
    run(app)
    buy(app, "c1", NOW + timedelta(days=5))
    later = NOW + timedelta(days=5 + 400)  # dormant for 400 days: would be our-promise
    run(app, later)
    run(app, later + timedelta(days=60))
    run(app, later + timedelta(days=400))
    keys = [letter["step_key"] for letter in letters_of(app, "c1")]
    assert keys == ["we-miss-you", "sorry-again"]
    apology = letters_of(app, "c1")[1]
    assert apology["discount_percent"] == 0
    assert apology["coupon_code"] is None
    report = plan_pass(app, later + timedelta(days=500))
    assert any(d.verdict is Verdict.LOST_FOR_GOOD for d in report.decisions)


def test_unsubscribe_ends_every_enrollment_at_once(app: App) -> None:
    dormant_customer(app, "c1", NOW, 100, timezone="Asia/Tokyo")
    enroll_and_queue(app, NOW - timedelta(hours=6))
    assert unsubscribe(app, "c1@example.com", NOW) == "unsubscribed"
    assert [e["status"] for e in enrollments_of(app, "c1")] == ["unsubscribed"]
    assert [letter["status"] for letter in letters_of(app, "c1")] == ["cancelled"]
    mailer = run(app, NOW + timedelta(days=200))
    assert mailer.sent == []


def test_quiet_hours_hold_the_letter_until_morning_without_dropping_it(app: App) -> None:
    dormant_customer(app, "c1", NOW, 100, timezone="Asia/Tokyo")  # NOW is 21:00 in Tokyo
    assert [d.verdict for d in plan_pass(app, NOW).decisions] == [Verdict.QUIET_HOURS]
    mailer = run(app, NOW)
    assert mailer.sent == []
    (letter,) = letters_of(app, "c1")
    assert letter["status"] == "queued"
    assert letter["send_after"] == NOW + timedelta(hours=12)  # 09:00 in Tokyo
    assert asyncio.run(send_due(app, mailer, NOW + timedelta(hours=11))).sent == 0
    assert asyncio.run(send_due(app, mailer, NOW + timedelta(hours=12))).sent == 1
    assert mailer.recipients() == ["c1@example.com"]


def test_a_letter_whose_sending_slips_into_the_night_waits_for_the_morning(app: App) -> None:
    dormant_customer(app, "tokyo", NOW, 100, timezone="Asia/Tokyo")
    enroll_and_queue(app, NOW - timedelta(hours=6))  # 15:00 in Tokyo: queued to go now
    mailer = MemoryMailer()
    late = asyncio.run(send_due(app, mailer, NOW))  # the sender only gets to it at 21:00 in Tokyo
    assert (late.sent, late.deferred) == (0, 1)
    assert letters_of(app, "tokyo")[0]["send_after"] == NOW + timedelta(hours=12)
    assert asyncio.run(send_due(app, mailer, NOW + timedelta(hours=12))).sent == 1


def test_a_ladder_shortened_under_a_running_enrollment_ends_it_instead_of_failing(db_url: str) -> None:
    app = app_from_settings(make_settings(db_url))
    dormant_customer(app, "c1", NOW, 200)
    run(app)  # step two sent, next_step is 2
    shorter = app_from_settings(
        make_settings(db_url, campaign={"steps": [s.model_dump() for s in app.settings.campaign.steps[:2]]})
    )
    report = plan_pass(shorter, NOW + timedelta(days=200))
    assert [d.verdict for d in report.decisions] == [Verdict.LADDER_EXHAUSTED]
    mailer = run(shorter, NOW + timedelta(days=200))
    assert mailer.sent == []
    app.db.dispose()
    shorter.db.dispose()


def test_bad_payers_are_excluded_by_default(app: App) -> None:
    dormant_customer(app, "c1", NOW, 100, tags=frozenset({"bad_payer"}))
    assert run(app).sent == []
    assert [d.verdict for d in plan_pass(app, NOW).decisions] == [Verdict.EXCLUDED_TAG]


def test_min_gap_and_frequency_cap_space_the_letters(app: App) -> None:
    dormant_customer(app, "c1", NOW, 175)
    run(app)  # day 175: we-miss-you
    run(app, NOW + timedelta(days=5))  # day 180: step two is due, but only 5 days after the first
    assert [letter["step_key"] for letter in letters_of(app, "c1")] == ["we-miss-you"]
    verdicts = {d.verdict for d in plan_pass(app, NOW + timedelta(days=5)).decisions}
    assert verdicts == {Verdict.MIN_GAP}
    run(app, NOW + timedelta(days=14))
    keys = [x["step_key"] for x in letters_of(app, "c1")]
    assert keys == ["we-miss-you", "did-we-say-something-wrong"]


def test_a_tag_that_only_looks_like_an_excluded_one_is_not_excluded(app: App) -> None:
    dormant_customer(app, "x", NOW, 100, tags=frozenset({"badxpayer"}))  # '_' is a LIKE wildcard
    assert [d.verdict for d in plan_pass(app, NOW).decisions] == [Verdict.SEND]
