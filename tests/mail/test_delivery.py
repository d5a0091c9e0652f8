"""Delivery against real loopback SMTP servers: what each kind of refusal does to the ledger."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from reactivator.db.customers import find_customer
from reactivator.service.app import App, app_from_settings
from reactivator.service.delivery import SendReport, send_with_configured_mailer
from reactivator.service.passes import enroll_and_queue
from tests.conftest import NOW, make_settings
from tests.helpers import dormant_customer, letters_of
from tests.smtp_servers import FaultHandler, smtp_server


@pytest.fixture
def fault() -> Iterator[tuple[int, FaultHandler]]:
    handler = FaultHandler()
    with smtp_server(handler) as port:
        yield port, handler


def smtp_app(db_url: str, port: int, smtp: dict[str, Any] | None = None, **delivery: Any) -> App:
    return app_from_settings(make_settings(db_url, smtp={"port": port, **(smtp or {})}, delivery=delivery))


def send(app: App, at: Any = NOW) -> SendReport:
    return asyncio.run(send_with_configured_mailer(app, at))


def test_letters_go_out_over_a_few_reused_connections(db_url: str, fault: tuple[int, FaultHandler]) -> None:
    port, server = fault
    app = smtp_app(db_url, port, {"pool_size": 2})
    for n in range(12):
        dormant_customer(app, f"c{n}", NOW, 100)
    enroll_and_queue(app, NOW)
    report = send(app)
    assert report.sent == 12
    assert sorted(server.recipients()) == sorted(f"c{n}@example.com" for n in range(12))
    assert server.sessions <= 2  # not one connection per letter
    stored = {str(letters_of(app, f"c{n}")[0]["message_id"]) for n in range(12)}
    assert {str(m["Message-ID"]) for _, m in server.messages} == stored
    app.db.dispose()


def test_a_temporary_refusal_defers_the_letter_and_it_is_delivered_later(
    db_url: str, fault: tuple[int, FaultHandler]
) -> None:
    port, server = fault
    server.rcpt_replies["slow@example.com"] = ["451 4.3.0 mailbox busy, try later"]
    app = smtp_app(db_url, port)
    dormant_customer(app, "slow", NOW, 100)
    enroll_and_queue(app, NOW)
    first = send(app)
    assert (first.sent, first.deferred) == (0, 1)
    letter = letters_of(app, "slow")[0]
    assert letter["status"] == "queued"
    assert "451" in str(letter["last_error"])
    assert send(app).sent == 0  # not before its retry time
    assert send(app, NOW + timedelta(hours=1)).sent == 1
    ((_, message),) = server.messages
    assert message["Message-ID"] == letter["message_id"]  # the same letter, not a new one
    app.db.dispose()


def test_a_dropped_connection_is_retried_on_a_new_one(db_url: str, fault: tuple[int, FaultHandler]) -> None:
    port, server = fault
    server.drop_on_data.add("drop@example.com")
    app = smtp_app(db_url, port, {"pool_size": 1})
    dormant_customer(app, "drop", NOW, 100)
    dormant_customer(app, "fine", NOW, 100)
    enroll_and_queue(app, NOW)
    report = send(app)
    assert report.sent == 1
    assert report.deferred == 1
    assert send(app, NOW + timedelta(hours=1)).sent == 1
    assert sorted(server.recipients()) == ["drop@example.com", "fine@example.com"]
    app.db.dispose()


def test_no_such_mailbox_suppresses_the_address_and_ends_the_ladder(
    db_url: str, fault: tuple[int, FaultHandler]
) -> None:
    port, server = fault
    server.rcpt_replies["gone@example.com"] = ["550 5.1.1 no such user"]
    app = smtp_app(db_url, port)
    dormant_customer(app, "gone", NOW, 100)
    enroll_and_queue(app, NOW)
    report = send(app)
    assert report.bounced == 1
    letter = letters_of(app, "gone")[0]
    assert letter["status"] == "failed"
    assert "5.1.1" in str(letter["ended_reason"])
    with app.db.read() as conn:
        customer = find_customer(conn, "gone")
    assert customer is not None
    assert customer.subscription.value == "bounced"
    # Months later the ladder would go on: a bounced address gets nothing more.
    enroll_and_queue(app, NOW + timedelta(days=120))
    assert send(app, NOW + timedelta(days=120)).sent == 0
    assert server.messages == []
    app.db.dispose()


def test_a_policy_rejection_pauses_the_domain_and_alerts_without_blaming_the_customer(
    db_url: str, fault: tuple[int, FaultHandler], caplog: pytest.LogCaptureFixture
) -> None:
    port, server = fault
    server.rcpt_replies["a@example.com"] = ["554 5.7.1 message refused by policy"]
    app = smtp_app(db_url, port, {"pool_size": 1})
    dormant_customer(app, "a", NOW, 100)
    dormant_customer(app, "b", NOW, 100)
    dormant_customer(app, "c", NOW, 100, email="c@other.example.org")
    enroll_and_queue(app, NOW)
    with caplog.at_level(logging.WARNING, logger="reactivator.delivery"):
        report = send(app)
    assert report.sent == 1
    assert report.deferred == 2  # a was refused, b waits: the whole domain pauses
    assert server.recipients() == ["c@other.example.org"]
    assert any("ALERT" in r.getMessage() and "example.com" in r.getMessage() for r in caplog.records)
    with app.db.read() as conn:
        a = find_customer(conn, "a")
    assert a is not None
    assert a.subscription.value == "subscribed"  # not the customer's fault
    assert [letters_of(app, x)[0]["status"] for x in ("a", "b")] == ["queued", "queued"]
    app.db.dispose()


def test_a_letter_refused_for_longer_than_its_lifetime_expires(
    db_url: str, fault: tuple[int, FaultHandler]
) -> None:
    port, server = fault
    server.rcpt_replies["late@example.com"] = ["451 4.4.1 try later"] * 10
    app = smtp_app(db_url, port, retry_lifetime_hours=2)
    dormant_customer(app, "late", NOW, 100)
    enroll_and_queue(app, NOW)
    at = NOW
    for _ in range(10):
        report = send(app, at)
        if report.expired:
            break
        at += timedelta(hours=1)
    letter = letters_of(app, "late")[0]
    assert letter["status"] == "expired"
    assert "gave up after" in str(letter["ended_reason"])
    assert server.messages == []
    app.db.dispose()


def test_starttls_required_but_not_offered_sends_nothing(
    db_url: str, fault: tuple[int, FaultHandler]
) -> None:
    port, server = fault
    app = smtp_app(db_url, port, {"starttls": True})
    dormant_customer(app, "a", NOW, 100)
    enroll_and_queue(app, NOW)
    report = send(app)
    assert (report.sent, report.deferred) == (0, 1)
    assert server.messages == []
    assert "STARTTLS" in str(letters_of(app, "a")[0]["last_error"]).upper()
    app.db.dispose()


def test_the_return_path_carries_the_letter_for_verp(db_url: str, fault: tuple[int, FaultHandler]) -> None:
    port, server = fault
    app = smtp_app(db_url, port, return_path="bounces+{token}@shop.example.com")
    dormant_customer(app, "a", NOW, 100)
    enroll_and_queue(app, NOW)
    assert send(app).sent == 1
    letter_id = letters_of(app, "a")[0]["id"]
    assert server.return_paths == [f"bounces+{letter_id}@shop.example.com"]
    app.db.dispose()


def test_a_purchase_or_unsubscribe_mid_batch_stops_the_letters_not_yet_handed_over(
    db_url: str, fault: tuple[int, FaultHandler]
) -> None:
    from reactivator.service.customers import unsubscribe
    from tests.helpers import buy

    port, server = fault
    app = smtp_app(db_url, port, {"pool_size": 1})
    for name in ("a", "b", "c"):
        dormant_customer(app, name, NOW, 100)
    enroll_and_queue(app, NOW)
    accept = server.handle_DATA

    async def meanwhile(srv: Any, session: Any, envelope: Any) -> str:
        reply = await accept(srv, session, envelope)
        if len(server.messages) == 1:  # while the first letter is being accepted, the shop moves on
            buy(app, "b", NOW + timedelta(minutes=1))
            unsubscribe(app, "c", NOW)
        return reply

    server.handle_DATA = meanwhile  # type: ignore[method-assign]
    report = send(app)
    assert server.recipients() == ["a@example.com"]
    assert (report.sent, report.cancelled) == (1, 2)
    app.db.dispose()


def test_the_control_group_receives_nothing_and_the_treatment_its_letters(
    db_url: str, fault: tuple[int, FaultHandler]
) -> None:
    port, server = fault
    app = app_from_settings(make_settings(db_url, smtp={"port": port}, campaign={"holdout_percent": 50}))
    for n in range(40):
        dormant_customer(app, f"h{n}", NOW, 100)
    enroll_and_queue(app, NOW)
    report = send(app)
    held = {f"h{n}" for n in range(40) if letters_of(app, f"h{n}")[0]["status"] == "held"}
    treated = {f"h{n}" for n in range(40)} - held
    assert 0 < len(held) < 40
    assert report.sent == len(treated)
    assert sorted(server.recipients()) == sorted(f"{k}@example.com" for k in treated)
    for key in held:
        (letter,) = letters_of(app, key)
        assert (letter["message_id"], letter["coupon_code"], letter["sent_at"]) == (None, None, None)
    app.db.dispose()
