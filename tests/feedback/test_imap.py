"""The intake reads a folder on a real IMAP server (Dovecot on loopback): each message once,
flagged \\Seen only after what it said is stored."""

from __future__ import annotations

import imaplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from reactivator.errors import InputError
from reactivator.service.app import App
from reactivator.service.feedback_mailbox import read_feedback
from tests.conftest import NOW
from tests.feedback.test_bounces import dsn
from tests.feedback.test_intake import arf, reply_to, sent_letters
from tests.helpers import customer_row, enrollments_of
from tests.imap_server import ImapServer, dovecot


@pytest.fixture
def imap(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImapServer]:
    with dovecot() as server:
        monkeypatch.setenv("REACTIVATOR_IMAP_PASSWORD", server.password)
        yield server


def deliver(server: ImapServer, *messages: bytes | EmailMessage) -> None:
    client = imaplib.IMAP4("127.0.0.1", server.port)
    client.login(server.user, server.password)
    for message in messages:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        client.append("INBOX", None, None, raw)
    client.logout()


def unseen(server: ImapServer) -> int:
    client = imaplib.IMAP4("127.0.0.1", server.port)
    client.login(server.user, server.password)
    client.select("INBOX")
    _, found = client.uid("SEARCH", "UNSEEN")
    client.logout()
    return len((found[0] or b"").split())


def test_bounces_complaints_and_replies_are_read_from_an_imap_folder(app: App, imap: ImapServer) -> None:
    letters = sent_letters(app, "c1", "c2", "c3")
    deliver(
        imap,
        dsn("c1@example.com", "5.1.1"),
        arf(letters["c2"], "c2@example.com"),
        reply_to(letters["c3"], "c3@example.com", "Please call me."),
    )
    assert unseen(imap) == 3
    report = read_feedback(app, imap.url(), NOW)
    assert (report.messages, dict(report.events)) == (3, {"hard_bounce": 1, "complaint": 1, "reply": 1})
    assert customer_row(app, "c1")["subscription"] == "bounced"
    assert customer_row(app, "c2")["subscription"] == "unsubscribed"
    assert enrollments_of(app, "c3")[0]["end_reason"] == "replied"
    assert unseen(imap) == 0
    assert read_feedback(app, imap.url(), NOW).messages == 0  # flagged seen: not read again


def test_a_wrong_password_or_folder_is_a_clear_error(
    app: App, imap: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="no folder 'Nope'"):
        read_feedback(app, imap.url("Nope"), NOW)
    monkeypatch.setenv("REACTIVATOR_IMAP_PASSWORD", "wrong")
    with pytest.raises(InputError, match="login as feedback refused"):
        read_feedback(app, imap.url(), NOW)
    monkeypatch.delenv("REACTIVATOR_IMAP_PASSWORD")
    with pytest.raises(InputError, match="REACTIVATOR_IMAP_PASSWORD"):
        read_feedback(app, imap.url(), NOW)
