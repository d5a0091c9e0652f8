"""The mailbox intake beyond bounces: ARF complaints, mailto: unsubscribes, replies, auto-replies,
soft bounces that keep coming, policy refusals, the Feedback-ID header and the complaint brake."""

from __future__ import annotations

import asyncio
import mailbox
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from reactivator.config.feedback import FeedbackSettings
from reactivator.db.feedback import counts_by_step, recent_replies
from reactivator.db.letters import active_pauses
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import App, app_from_settings
from reactivator.service.complaint_brake import resume, stopped_steps
from reactivator.service.delivery import send_due
from reactivator.service.feedback_mailbox import read_feedback
from reactivator.service.passes import enroll_and_queue
from reactivator.service.status import status
from tests.conftest import NOW, make_settings
from tests.helpers import customer_row, dormant_customer, enrollments_of, letters_of

SHOP = "shop.example.com"


def sent_letters(app: App, *ids: str) -> dict[str, EmailMessage]:
    """Customers `ids`, dormant 100 days, each sent the first letter; their letters by id."""
    for external_id in ids:
        dormant_customer(app, external_id, NOW, 100)
    enroll_and_queue(app, NOW)
    mailer = MemoryMailer()
    asyncio.run(send_due(app, mailer, NOW))
    by_address = dict(mailer.sent)
    return {external_id: by_address[f"{external_id}@example.com"] for external_id in ids}


def maildir(tmp_path: Path, *messages: bytes | EmailMessage) -> str:
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for message in messages:
        box.add(message if isinstance(message, bytes) else message.as_bytes())
    return str(tmp_path / "Maildir")


def arf(letter: EmailMessage, rcpt: str | None) -> bytes:
    """An ARF report as Yahoo's loop sends it (Microsoft's redacts the recipient: rcpt=None)."""
    fields = "Feedback-Type: abuse\r\nUser-Agent: Yahoo!-Mail-Feedback/2.0\r\nVersion: 1\r\n"
    if rcpt:
        fields += f"Original-Rcpt-To: {rcpt}\r\n"
    headers = "".join(
        f"{k}: {v}\r\n" for k, v in letter.items() if k in ("From", "Subject", "Message-ID", "Date")
    )
    headers += "To: redacted@example.net\r\n"
    return (
        "From: feedback@arf.mail.yahoo.com\r\n"
        "To: fbl@shop.example.com\r\n"
        "Subject: FW: spam complaint\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"\r\n\r\n'
        "--ARF\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n"
        f"--ARF\r\nContent-Type: message/feedback-report\r\n\r\n{fields}\r\n"
        f"--ARF\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n"
        "--ARF--\r\n"
    ).encode()


def reply_to(letter: EmailMessage, sender: str, body: str, **headers: str) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = letter["Reply-To"] or letter["From"]
    reply["Subject"] = "Re: " + str(letter["Subject"])
    reply["In-Reply-To"] = letter["Message-ID"]
    reply["References"] = letter["Message-ID"]
    reply["Message-ID"] = f"<reply.{sender}>"
    for name, value in headers.items():
        reply[name.replace("_", "-")] = value
    reply.set_content(body)
    return reply


def test_every_letter_carries_a_feedback_id_naming_its_step_and_the_sender(app: App) -> None:
    letter = sent_letters(app, "c1")["c1"]
    assert letter["Feedback-ID"] == f"we-miss-you:winback:ladder:{SHOP}"


def test_a_complaint_unsubscribes_and_counts_against_the_step_even_when_redacted(
    app: App, tmp_path: Path
) -> None:
    letters = sent_letters(app, "c1", "c2")
    source = maildir(tmp_path, arf(letters["c1"], "c1@example.com"), arf(letters["c2"], None))
    report = read_feedback(app, source, NOW)
    assert dict(report.events) == {"complaint": 2}
    assert {customer_row(app, c)["subscription"] for c in ("c1", "c2")} == {"unsubscribed"}
    with app.db.read() as conn:
        assert counts_by_step(conn, "winback")["we-miss-you"]["complaint"] == 2


def test_the_report_counts_per_step_what_came_back(app: App, tmp_path: Path) -> None:
    from reactivator.service.reporting.campaign import campaign_report

    letters = sent_letters(app, "c1", "c2", "c3", "c4")
    blocked = "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org"
    source = maildir(
        tmp_path,
        arf(letters["c1"], "c1@example.com"),
        dsn("c2@example.com", "5.1.1", "550 5.1.1 user unknown"),
        dsn("c3@example.com", "5.7.1", blocked),
    )
    read_feedback(app, source, NOW)
    (step,) = [s for s in campaign_report(app, NOW + timedelta(days=1)).steps if s.sent]
    assert (step.step_key, step.sent, step.delivered) == ("we-miss-you", 4, 2)
    assert (step.bounced, step.refused_by_policy, step.complained, step.unsubscribed) == (2, 1, 1, 0)


def test_a_mail_to_the_unsubscribe_address_unsubscribes_the_tokens_customer(app: App, tmp_path: Path) -> None:
    letter = sent_letters(app, "c1")["c1"]
    mailto = str(letter["List-Unsubscribe"]).split("<mailto:")[1].rstrip(">")
    address, _, query = mailto.partition("?subject=")
    from urllib.parse import unquote

    request = EmailMessage()
    request["From"] = "someone-else@example.org"  # a forwarded address: the token decides
    request["To"] = address
    request["Subject"] = unquote(query)
    request.set_content("")
    report = read_feedback(app, maildir(tmp_path, request), NOW)
    assert (dict(report.events), report.unsubscribed) == ({"unsubscribe": 1}, 1)
    assert customer_row(app, "c1")["subscription"] == "unsubscribed"
    assert letters_of(app, "c1")[0]["status"] == "sent"


def test_a_reply_stops_the_ladder_and_is_kept_an_auto_reply_changes_nothing(app: App, tmp_path: Path) -> None:
    letters = sent_letters(app, "c1", "c2")
    person = reply_to(
        letters["c1"], "c1@example.com", "Thanks, I moved away.\n\nOn Mon, Shop wrote:\n> We miss you"
    )
    away = reply_to(letters["c2"], "c2@example.com", "I am out of the office.", Auto_Submitted="auto-replied")
    report = read_feedback(app, maildir(tmp_path, person, away), NOW)
    assert (dict(report.events), report.replies) == ({"reply": 1, "auto_reply": 1}, 1)
    assert enrollments_of(app, "c1")[0]["status"] == "cancelled"
    assert enrollments_of(app, "c1")[0]["end_reason"] == "replied"
    assert enrollments_of(app, "c2")[0]["status"] == "active"
    with app.db.read() as conn:
        (kept,) = recent_replies(conn)
    assert (kept.external_id, kept.text, kept.step_key) == ("c1", "Thanks, I moved away.", "we-miss-you")
    assert status(app, NOW).replies_this_week == 1
    # The next pass does not take them back onto the ladder: a person answers now.
    enroll_and_queue(app, NOW + timedelta(days=40))
    assert len(letters_of(app, "c1")) == 1


def dsn(recipient: str, status: str, said: str, action: str = "failed") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@shop.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {said}\r\n--B--\r\n"
    ).encode()


def test_a_full_mailbox_suppresses_only_when_it_lasts(db_url: str, tmp_path: Path) -> None:
    app = app_from_settings(
        make_settings(db_url, feedback=FeedbackSettings(soft_bounce_limit=3, soft_bounce_days=10))
    )
    try:
        dormant_customer(app, "full", NOW, 100)
        for n, day in enumerate((0, 4, 8, 12)):
            said = f"552 5.2.2 <full@example.com>: mailbox full (attempt {n})"
            box = tmp_path / f"box{n}.eml"
            box.write_bytes(dsn("full@example.com", "5.2.2", said))
            read_feedback(app, str(box), NOW + timedelta(days=day))
            expected = "bounced" if day >= 10 else "subscribed"
            assert customer_row(app, "full")["subscription"] == expected, day
    finally:
        app.db.dispose()


def test_a_filtered_refusal_suppresses_only_when_it_keeps_coming(db_url: str, tmp_path: Path) -> None:
    rules = FeedbackSettings(soft_bounce_limit=2, soft_bounce_days=3)
    app = app_from_settings(make_settings(db_url, feedback=rules))
    try:
        dormant_customer(app, "c1", NOW, 100)
        for n, day in enumerate((0, 5)):
            said = f"550 <c1@example.com>: User unknown (report {n})"
            report = read_feedback(
                app, str(_file(tmp_path, dsn("c1@example.com", "", said))), NOW + timedelta(days=day)
            )
            assert dict(report.events) == {"policy": 1}
            assert customer_row(app, "c1")["subscription"] == ("subscribed" if n == 0 else "bounced")
        with app.db.read() as conn:
            assert active_pauses(conn, NOW) == {}  # one person's filter pauses no domain
    finally:
        app.db.dispose()


def test_a_policy_refusal_never_blames_the_recipient_and_pauses_the_domain(app: App, tmp_path: Path) -> None:
    dormant_customer(app, "c1", NOW, 100)
    said = "550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org"
    report = read_feedback(app, str(_file(tmp_path, dsn("c1@example.com", "5.7.1", said))), NOW)
    assert dict(report.events) == {"policy": 1}
    assert customer_row(app, "c1")["subscription"] == "subscribed"
    with app.db.read() as conn:
        assert "example.com" in active_pauses(conn, NOW)


def _file(tmp_path: Path, raw: bytes) -> Path:
    path = tmp_path / "one.eml"
    path.write_bytes(raw)
    return path


def test_the_complaint_brake_stops_a_step_until_it_is_resumed(db_url: str, tmp_path: Path) -> None:
    rules = FeedbackSettings(complaint_rate=0.1, brake_min_delivered=3)
    app = app_from_settings(make_settings(db_url, feedback=rules))
    try:
        letters = sent_letters(app, "c1", "c2", "c3", "c4")
        report = read_feedback(app, maildir(tmp_path, arf(letters["c1"], "c1@example.com")), NOW)
        assert report.stopped_steps == ["we-miss-you"]  # 1 of 4 delivered: 25% > 10%
        assert "we-miss-you" in stopped_steps(app)
        assert any("complaint brake" in a for a in status(app, NOW).alerts)
        # The queued letters of the stopped step wait; resumed, they go.
        for n in range(5, 8):
            dormant_customer(app, f"c{n}", NOW, 100)
        enroll_and_queue(app, NOW)
        assert asyncio.run(send_due(app, MemoryMailer(), NOW)).sent == 0
        assert resume(app, "we-miss-you", NOW)
        assert not resume(app, "we-miss-you", NOW)
        assert asyncio.run(send_due(app, MemoryMailer(), NOW)).sent == 3
        assert not stopped_steps(app)
    finally:
        app.db.dispose()


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff" * 100,
        b"Content-Type: multipart/report; boundary=\r\n\r\n--\r\n",
        b"From: \r\n\r\n>>> DATA",
    ],
)
def test_no_input_crashes_the_reader(app: App, tmp_path: Path, raw: bytes) -> None:
    assert read_feedback(app, str(_file(tmp_path, raw)), NOW).events == {}
