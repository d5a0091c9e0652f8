"""The mailbox intake on bounces: DSNs (RFC 3464) from a Maildir, an mbox or a file suppress hard
bounces, count soft ones, and never blame the recipient for a policy refusal."""

from __future__ import annotations

import mailbox
from pathlib import Path

from reactivator.db.customers import find_customer, suppressed_keys
from reactivator.feedback.dsn import bounces_in
from reactivator.service.app import App
from reactivator.service.feedback_mailbox import read_feedback
from tests.conftest import NOW
from tests.helpers import dormant_customer


def dsn(recipient: str, status: str, action: str = "failed", to: str = "bounces@shop.example.com") -> bytes:
    """A delivery status notification as MTAs (Postfix) write them."""
    return (
        "From: MAILER-DAEMON@mx.example.net\r\n"
        f"To: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n"
        "--B\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "--B\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n"
        "Arrival-Date: Mon, 1 Jun 2026 12:00:00 +0000\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} mailbox unavailable\r\n"
        "--B\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "Message-ID: <r.1@shop.example.com>\r\n"
        "--B--\r\n"
    ).encode()


def test_a_dsn_is_read_recipient_status_action_and_verp_letter() -> None:
    (hard,) = bounces_in(dsn("Gone@Example.com", "5.1.1", to="bounces+42@shop.example.com"))
    assert (hard.recipient, hard.status, hard.action, hard.letter_id, hard.hard) == (
        "gone@example.com",
        "5.1.1",
        "failed",
        42,
        True,
    )
    (soft,) = bounces_in(dsn("slow@example.com", "4.2.2", action="delayed"))
    assert not soft.hard
    assert bounces_in(b"From: a@b\r\nSubject: hello\r\n\r\nnot a bounce\r\n") == []


def test_hard_bounces_in_a_maildir_suppress_and_soft_ones_do_not(app: App, tmp_path: Path) -> None:
    dormant_customer(app, "gone", NOW, 100)
    dormant_customer(app, "slow", NOW, 100)
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(dsn("gone@example.com", "5.1.1"))
    box.add(dsn("slow@example.com", "4.2.2", action="delayed"))
    box.add(dsn("stranger@example.org", "5.1.2"))  # never imported: remembered anyway
    box.add(b"From: someone@example.com\r\nSubject: thanks!\r\n\r\nnot a bounce\r\n")
    report = read_feedback(app, str(tmp_path / "Maildir"), NOW)
    assert report.messages == 4
    assert dict(report.events) == {"hard_bounce": 2, "deferred": 1}
    assert sorted(report.suppressed) == ["gone@example.com", "stranger@example.org"]
    # Read again: every message is flagged seen, nothing is read twice.
    assert read_feedback(app, str(tmp_path / "Maildir"), NOW).messages == 0
    with app.db.read() as conn:
        gone, slow = find_customer(conn, "gone"), find_customer(conn, "slow")
        assert suppressed_keys(conn, ["stranger@example.org"]) == {"stranger@example.org"}
    assert gone is not None
    assert slow is not None
    assert gone.subscription.value == "bounced"
    assert slow.subscription.value == "subscribed"


def test_an_mbox_and_a_single_message_file_are_read_too(app: App, tmp_path: Path) -> None:
    dormant_customer(app, "a", NOW, 100)
    dormant_customer(app, "b", NOW, 100)
    box = mailbox.mbox(tmp_path / "bounces.mbox", create=True)
    box.add(dsn("a@example.com", "5.1.1"))
    box.close()
    (tmp_path / "one.eml").write_bytes(dsn("b@example.com", "5.2.1"))
    assert read_feedback(app, str(tmp_path / "bounces.mbox"), NOW).suppressed == ["a@example.com"]
    assert read_feedback(app, str(tmp_path / "one.eml"), NOW).suppressed == ["b@example.com"]
    # An mbox has no seen flags: read again, each event is known and changes nothing.
    again = read_feedback(app, str(tmp_path / "bounces.mbox"), NOW)
    assert (again.messages, again.repeated, dict(again.events)) == (1, 1, {})
