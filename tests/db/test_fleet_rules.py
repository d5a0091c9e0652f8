"""What lets several workers share one database: one pass at a time, and domain pauses for all."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from reactivator.core.refusals import Refusal
from reactivator.db.passes import take_pass_lock
from reactivator.db.tables import letters
from reactivator.errors import DeliveryError
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import App, app_from_settings
from reactivator.service.delivery import send_due
from reactivator.service.passes import enroll_and_queue, try_enroll_and_queue
from tests.conftest import NOW, _truncate, make_settings
from tests.helpers import dormant_customer, letters_of


@pytest.mark.postgresql
def test_a_pass_is_skipped_while_another_process_holds_the_pass_lock(postgres_url: str) -> None:
    # (On SQLite the pass's write transaction alone keeps passes apart.)
    _truncate(postgres_url)
    app = app_from_settings(make_settings(postgres_url))
    dormant_customer(app, "a", NOW, 100)
    with app.db.write() as other:  # another daemon, mid-pass
        assert take_pass_lock(other, app.campaign, wait=False)
        assert try_enroll_and_queue(app, NOW) is None
    assert letters_of(app, "a") == []
    report = try_enroll_and_queue(app, NOW)  # the lock went with the other transaction
    assert report is not None
    assert report.writes is not None
    assert report.writes.queued == 1
    app.db.dispose()


def test_a_policy_refusal_pauses_the_domain_for_every_sender(app: App) -> None:
    dormant_customer(app, "first", NOW, 100, email="first@strict.example")
    dormant_customer(app, "second", NOW, 100, email="second@strict.example")
    dormant_customer(app, "other", NOW, 100, email="other@relaxed.example")
    enroll_and_queue(app, NOW)
    first_id = letters_of(app, "first")[0]["id"]
    blocked = DeliveryError("550 5.7.1 blocked by policy", reason=Refusal.POLICY, code=550, status="5.7.1")
    refusing = MemoryMailer(refuse={"first@strict.example": blocked})
    _send_only(app, refusing, "w1", int(str(first_id)))
    # A second sender, a fresh process that never saw the refusal, respects the pause.
    fresh = MemoryMailer()
    report = asyncio.run(send_due(app, fresh, NOW + timedelta(minutes=1), worker="w2"))
    assert fresh.recipients() == ["other@relaxed.example"]
    assert report.deferred == 1
    second = letters_of(app, "second")[0]
    assert second["status"] == "queued"
    assert second["send_after"] > NOW + timedelta(minutes=20)  # held until the pause ends


def _send_only(app: App, mailer: MemoryMailer, worker: str, letter_id: int) -> None:
    """Send just one letter by holding every other one under a lease of a third worker."""
    with app.db.write() as conn:
        conn.execute(
            update(letters)
            .where(letters.c.id != letter_id)
            .values(lease_until=NOW + timedelta(seconds=30), leased_by="holder")
        )
    asyncio.run(send_due(app, mailer, NOW, worker=worker))
    with app.db.write() as conn:
        conn.execute(
            update(letters).where(letters.c.leased_by == "holder").values(lease_until=None, leased_by=None)
        )
