"""A step added at the end of the ladder: customers who finished the shorter ladder stay finished
until the shop reopens it for them (`reactivator reopen`), and then get the new step on its day."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from reactivator.config import load_settings
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import app_from_settings
from reactivator.service.delivery import send_due
from reactivator.service.ladder_reopen import reopen_finished
from reactivator.service.passes import enroll_and_queue
from tests.conftest import NOW, make_settings
from tests.helpers import buy, dormant_customer, enrollments_of, letters_of


def test_a_new_last_step_reaches_those_who_finished_only_once_reopened(db_url: str) -> None:
    short = app_from_settings(make_settings(db_url))
    start = NOW - timedelta(days=800)
    dormant_customer(short, "walker", start, 100)  # last bought ~900 days before NOW
    dormant_customer(short, "buyer", start, 100)
    for day in (0, 90, 270):  # the three steps, each on its day
        at = start + timedelta(days=day)
        enroll_and_queue(short, at)
        asyncio.run(send_due(short, MemoryMailer(), at))
    assert [e["status"] for e in enrollments_of(short, "walker")] == ["exhausted"]
    buy(short, "buyer", start + timedelta(days=300), now=start + timedelta(days=300))  # came back
    short.db.dispose()

    steps = [s.model_dump() for s in load_settings(None).campaign.steps]
    steps.append({"key": "last-call", "from_days": 720, "discount_percent": 25})
    longer = app_from_settings(make_settings(db_url, campaign={"steps": steps}))
    try:
        enroll_and_queue(longer, NOW)
        assert len(letters_of(longer, "walker")) == 3  # finished is finished, by default
        assert reopen_finished(longer, dry_run=True) == 1
        assert reopen_finished(longer) == 1  # the walker; never the one who came back
        assert reopen_finished(longer) == 0
        enroll_and_queue(longer, NOW)
        keys = [row["step_key"] for row in letters_of(longer, "walker")]
        assert keys == ["we-miss-you", "did-we-say-something-wrong", "our-promise", "last-call"]
        assert [e["status"] for e in enrollments_of(longer, "walker")] == [
            "exhausted"
        ]  # the new end, reached
    finally:
        longer.db.dispose()
