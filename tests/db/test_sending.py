"""The send path on both backends: leases, last-moment checks, and what each failure does."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from reactivator.core.ports import Outgoing
from reactivator.core.refusals import Refusal
from reactivator.db import letters as letter_rows
from reactivator.errors import DeliveryError
from reactivator.mail.memory import MemoryMailer
from reactivator.render.processes import RenderProcesses
from reactivator.service.app import App, app_from_settings
from reactivator.service.customers import unsubscribe
from reactivator.service.delivery import send_due
from reactivator.service.letters import checked_composer
from reactivator.service.passes import enroll_and_queue
from tests.conftest import NOW, make_settings
from tests.helpers import buy, dormant_customer, enrollments_of, letters_of


@dataclass
class MeddlingMailer(MemoryMailer):
    """Lets something happen in the shop while a batch is being sent."""

    after_first: list[object] = field(default_factory=list)

    async def send(self, letter: Outgoing) -> None:
        await super().send(letter)
        while self.after_first:
            action = self.after_first.pop()
            action()  # type: ignore[operator]


def test_a_purchase_or_unsubscribe_during_a_batch_stops_the_letters_not_yet_handed_over(db_url: str) -> None:
    # One letter at a time, so that b and c are still waiting when a has gone out.
    app = app_from_settings(make_settings(db_url))
    dormant_customer(app, "a", NOW, 100)
    dormant_customer(app, "b", NOW, 100)
    dormant_customer(app, "c", NOW, 100)
    enroll_and_queue(app, NOW)
    mailer = MeddlingMailer(
        concurrency=1,
        after_first=[lambda: buy(app, "b", NOW + timedelta(minutes=1)), lambda: unsubscribe(app, "c", NOW)],
    )
    report = asyncio.run(send_due(app, mailer, NOW))
    assert mailer.recipients() == ["a@example.com"]
    assert (report.sent, report.cancelled) == (1, 2)
    assert letters_of(app, "b")[0]["status"] == "cancelled"
    assert enrollments_of(app, "b")[0]["status"] == "returned"
    app.db.dispose()


def test_permanent_failure_fails_the_letter_and_a_temporary_one_retries_later(app: App) -> None:
    dormant_customer(app, "hard", NOW, 100)
    dormant_customer(app, "soft", NOW, 100)
    enroll_and_queue(app, NOW)
    mailer = MemoryMailer(
        refuse={
            "hard@example.com": DeliveryError("550 5.1.1 no such user", reason=Refusal.PERMANENT, code=550),
            "soft@example.com": DeliveryError("451 4.3.0 try later", reason=Refusal.TEMPORARY, code=451),
        }
    )
    report = asyncio.run(send_due(app, mailer, NOW))
    assert (report.sent, report.failed, report.deferred) == (0, 1, 1)
    assert letters_of(app, "hard")[0]["status"] == "failed"
    soft = letters_of(app, "soft")[0]
    assert soft["status"] == "queued"
    assert "451" in str(soft["last_error"])
    mailer.refuse.clear()
    assert asyncio.run(send_due(app, mailer, NOW)).sent == 0  # not before its retry time
    assert asyncio.run(send_due(app, mailer, NOW + timedelta(hours=1))).sent == 1
    assert letters_of(app, "soft")[0]["message_id"] == soft["message_id"]  # same Message-ID on retry


def test_a_letter_claimed_by_a_sender_that_died_is_taken_over_after_its_lease(app: App) -> None:
    dormant_customer(app, "a", NOW, 100)
    enroll_and_queue(app, NOW)
    with app.db.write() as conn:
        assert len(letter_rows.claim(conn, NOW, 10, timedelta(minutes=5), "dead-worker")) == 1
    mailer = MemoryMailer()
    assert asyncio.run(send_due(app, mailer, NOW + timedelta(minutes=1), worker="w2")).sent == 0
    assert asyncio.run(send_due(app, mailer, NOW + timedelta(minutes=6), worker="w2")).sent == 1
    assert letters_of(app, "a")[0]["attempts"] == 2


def test_two_workers_never_hold_the_same_letter(app: App) -> None:
    for n in range(10):
        dormant_customer(app, f"c{n}", NOW, 100)
    enroll_and_queue(app, NOW)
    with app.db.write() as conn:
        first = letter_rows.claim(conn, NOW, 6, timedelta(minutes=5), "w1")
    with app.db.write() as conn:
        second = letter_rows.claim(conn, NOW, 6, timedelta(minutes=5), "w2")
    assert len(first) == 6
    assert len(second) == 4
    assert not set(first) & set(second)


def test_the_letter_carries_the_steps_subject_coupon_and_a_safe_subject(app: App) -> None:
    dormant_customer(app, "x", NOW, 100, first_name="Bob\r\nBcc: victim@example.com", locale="ru")
    enroll_and_queue(app, NOW)
    mailer = MemoryMailer()
    asyncio.run(send_due(app, mailer, NOW))
    ((recipient, message),) = mailer.sent
    letter = letters_of(app, "x")[0]
    assert recipient == "x@example.com"
    assert message["Bcc"] is None
    assert "мы скучаем по Вам" in str(message["Subject"])
    assert str(letter["coupon_code"]) in message.get_body(("plain",)).get_content()
    assert message["Message-ID"] == letter["message_id"]


def test_a_letter_whose_step_left_the_ladder_fails_alone_and_the_rest_go_out(db_url: str) -> None:
    from reactivator.service.app import app_from_settings
    from tests.conftest import make_settings

    app = app_from_settings(make_settings(db_url))
    dormant_customer(app, "a", NOW, 100)
    dormant_customer(app, "b", NOW, 400)
    enroll_and_queue(app, NOW)
    shorter = [s.model_dump() for s in app.settings.campaign.steps][1:]
    later = app_from_settings(make_settings(db_url, campaign={"steps": shorter}))
    mailer = MemoryMailer()
    report = asyncio.run(send_due(later, mailer, NOW))
    assert (report.sent, report.failed) == (1, 1)
    assert mailer.recipients() == ["b@example.com"]
    assert "no longer in the campaign" in str(letters_of(app, "a")[0]["ended_reason"])
    app.db.dispose()
    later.db.dispose()


@dataclass
class BreakingMailer(MemoryMailer):
    """Slow hand-overs; the letter to `breaks` blows up with an error that is not a refusal."""

    breaks: str = ""
    attempts: list[str] = field(default_factory=list)

    async def send(self, letter: Outgoing) -> None:
        self.attempts.append(letter.recipient)
        if letter.recipient == self.breaks:
            raise RuntimeError("signing failed")
        await asyncio.sleep(0.05)
        await super().send(letter)


def test_a_worker_that_breaks_stops_the_batch_without_giving_back_letters_already_handed_over(
    db_url: str,
) -> None:
    app = app_from_settings(make_settings(db_url))
    for n in range(12):
        dormant_customer(app, f"c{n}", NOW, 100)
    enroll_and_queue(app, NOW)
    mailer = BreakingMailer(breaks="c5@example.com", concurrency=4)
    with pytest.raises(RuntimeError, match="signing failed"):
        asyncio.run(send_due(app, mailer, NOW))
    first = set(mailer.recipients())
    statuses = {n: letters_of(app, f"c{n}")[0] for n in range(12)}
    for n, letter in statuses.items():
        handed_over = f"c{n}@example.com" in first
        assert (letter["status"] == "sent") == handed_over  # recorded exactly when handed over
        if not handed_over:
            assert letter["lease_until"] is None  # the rest is free for the next run at once
    rerun = MemoryMailer()
    asyncio.run(send_due(app, rerun, NOW))
    assert not first & set(rerun.recipients())  # nothing twice
    assert first | set(rerun.recipients()) == {f"c{n}@example.com" for n in range(12)}
    app.db.dispose()


@dataclass
class TogetherMailer(MemoryMailer):
    """Holds each letter until `together` are in flight, so their results arrive at once."""

    together: int = 4
    _arrived: int = 0
    _all_here: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, letter: Outgoing) -> None:
        self._arrived += 1
        if self._arrived % self.together == 0:
            self._all_here.set()
        await self._all_here.wait()
        await super().send(letter)


def test_results_and_last_checks_that_arrive_together_share_one_transaction(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(8):
        dormant_customer(app, f"g{n}", NOW, 100)
    enroll_and_queue(app, NOW)
    recorded: list[int] = []
    checked: list[int] = []
    mark_sent, current_states = letter_rows.mark_sent, letter_rows.current_states

    def counted_sent(conn: Connection, ids: list[int], *args: Any) -> set[int]:
        recorded.append(len(ids))
        return mark_sent(conn, ids, *args)

    def counted_checks(conn: Connection, ids: list[int]) -> dict[int, Any]:
        checked.append(len(ids))
        return current_states(conn, ids)

    monkeypatch.setattr(letter_rows, "mark_sent", counted_sent)
    monkeypatch.setattr(letter_rows, "current_states", counted_checks)
    report = asyncio.run(send_due(app, TogetherMailer(concurrency=4, together=4), NOW))
    assert report.sent == 8
    assert sum(recorded) == 8  # every letter recorded
    assert sum(checked) == 8  # and checked
    assert max(recorded) > 1  # one statement (and commit) for several results
    assert max(checked) > 1  # one query for several last checks
    assert {row["status"] for n in range(8) for row in letters_of(app, f"g{n}")} == {"sent"}


def test_letters_built_by_render_processes_are_the_letters_built_here(app: App) -> None:
    for n in range(6):
        dormant_customer(app, f"r{n}", NOW, 100, locale="ru" if n % 2 else "en")
    enroll_and_queue(app, NOW)
    composer = checked_composer(app, NOW)
    renderer = RenderProcesses(app.settings, composer.tokens, 1)
    try:
        mailer = MemoryMailer()
        report = asyncio.run(send_due(app, mailer, NOW, composer=composer, renderer=renderer))
    finally:
        renderer.close()
    assert report.sent == 6
    ids = [row["id"] for n in range(6) for row in letters_of(app, f"r{n}")]
    with app.db.read() as conn:
        by_address = {letter.email: letter for letter in letter_rows.load(conn, ids)}
    for outgoing in mailer.letters:
        assert outgoing.message is None  # built in a render process: its bytes only
        assert outgoing.wire() == composer.compose(by_address[outgoing.recipient], NOW).message.as_bytes()
