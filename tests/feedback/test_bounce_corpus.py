"""The mailbox reader on real bounces from many servers (tests/fixtures/bounces, from the Sisimai
project's public set) and on refusals written as the big mailbox providers document them.

The rates asserted are the ones measured (README, "Deliverability"); a change that
makes any of them worse fails here.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactivator.core.bounce_class import BounceClass, classify
from reactivator.core.refusals import Refusal, refusal_of_reply
from reactivator.feedback.mail_events import events_in
from tests.feedback.bounce_corpus import CORPUS, measure


def test_rates_on_the_shared_set_of_real_bounces() -> None:
    rates = measure()
    assert rates.total["hard"] >= 50
    assert rates.total["soft"] >= 35
    assert rates.total["policy"] >= 40
    assert rates.rate("hard") >= 0.88, rates.wrong
    assert rates.rate("soft") <= 0.05, rates.wrong
    assert rates.rate("policy") <= 0.05, rates.wrong
    assert rates.events_from_non_bounces == 0


# Refusals as Gmail, Yahoo, Outlook.com, Apple and the big ISPs document them, and what they mean.
DOCUMENTED = [
    ("550-5.1.1 The email account that you tried to reach does not exist.", BounceClass.HARD),
    ("550 5.2.1 The email account that you tried to reach is disabled.", BounceClass.HARD),
    ("552-5.2.2 The email account that you tried to reach is over quota.", BounceClass.SOFT),
    ("452-4.2.2 The recipient's inbox is out of storage space.", BounceClass.SOFT),
    (
        "550-5.7.26 Unauthenticated email from shop.example.com is not accepted due to"
        " domain's DMARC policy.",
        BounceClass.POLICY,
    ),
    ("550-5.7.1 Our system has detected that this message is likely unsolicited mail.", BounceClass.POLICY),
    (
        "421-4.7.28 Our system has detected an unusual rate of unsolicited mail"
        " originating from your IP address.",
        BounceClass.SOFT,
    ),
    ("550 5.7.9 This mail has been blocked because the sender is unauthenticated.", BounceClass.POLICY),
    ("554 5.7.9 Message not accepted for policy reasons.", BounceClass.POLICY),
    (
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to"
        " unexpected volume or user complaints",
        BounceClass.SOFT,
    ),
    (
        "554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com)"
        " [0] - mta1.mail.yahoo.com",
        BounceClass.HARD,
    ),
    (
        "554 30 Sorry, your message to x@aol.com cannot be delivered. This mailbox is disabled (554.30).",
        BounceClass.HARD,
    ),
    ("550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302)", BounceClass.HARD),
    (
        "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact"
        " your Internet service provider. (S3140)",
        BounceClass.POLICY,
    ),
    ("550 5.7.606 Access denied, banned sending IP [192.0.2.1].", BounceClass.POLICY),
    (
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        BounceClass.HARD,
    ),
    ("554 5.7.1 [CS01] Message rejected due to local policy.", BounceClass.POLICY),
    ("550 5.1.8 Sender address rejected: Domain not found", BounceClass.POLICY),
    ("550 5.4.1 Recipient address rejected: Access denied.", BounceClass.POLICY),
    ("421 4.4.2 Connection dropped due to timeout", BounceClass.SOFT),
    ("550 5.4.4 Unable to route: no mail hosts for domain", BounceClass.HARD),
    ("554 5.4.7 Message expired: unable to deliver in 72 hours", BounceClass.SOFT),
]


@pytest.mark.parametrize(("said", "expected"), DOCUMENTED, ids=[s[:40] for s, _ in DOCUMENTED])
def test_documented_refusals_are_read_as_their_providers_mean_them(said: str, expected: BounceClass) -> None:
    assert classify(None, said).kind is expected


def test_the_same_reading_serves_replies_during_the_send() -> None:
    assert refusal_of_reply(
        550, "5.1.1", "5.1.1 The email account that you tried to reach does not exist"
    ) is (Refusal.BAD_MAILBOX)
    assert refusal_of_reply(
        552, "5.2.2", "5.2.2 The email account that you tried to reach is over quota"
    ) is (Refusal.TEMPORARY)
    assert refusal_of_reply(550, "5.7.26", "5.7.26 Unauthenticated email is not accepted") is Refusal.POLICY
    assert refusal_of_reply(550, "5.1.8", "5.1.8 Sender address rejected: Domain not found") is Refusal.POLICY
    assert refusal_of_reply(421, "4.7.0", "4.7.0 Try again later") is Refusal.TEMPORARY
    # The command refused decides what a bare "user unknown" means: at RCPT the address is bad;
    # after DATA the address had been accepted, and a filter refused this letter (the domain is not paused).
    assert refusal_of_reply(550, None, "User unknown", "RCPT") is Refusal.BAD_MAILBOX
    assert refusal_of_reply(550, None, "User unknown", "DATA") is Refusal.PERMANENT


def test_a_bare_user_unknown_names_the_recipient_only_with_a_status_or_the_rcpt_command() -> None:
    bare = "host mx.example.org[192.0.2.1] said: 550 <ann@example.org>: User unknown"
    assert classify(None, bare).reason == "filtered"
    assert classify(None, bare + " (in reply to RCPT TO command)").kind is BounceClass.HARD
    assert classify("5.1.1", bare).kind is BounceClass.HARD
    assert classify(None, "User ann not listed in Domino Directory").kind is BounceClass.HARD


def test_a_double_bounce_never_suppresses_an_address_quoted_in_the_returned_message() -> None:
    inner = (CORPUS / "messages" / "lhost-postfix-14.eml").read_bytes()
    outer = (
        b"From: MAILER-DAEMON@relay.example.org\r\nTo: postmaster@shop.example.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="O"\r\n\r\n'
        b"--O\r\nContent-Type: text/plain\r\n\r\nThe bounce could not be returned.\r\n"
        b"--O\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example.org\r\n\r\n"
        b"Final-Recipient: rfc822; bounces@shop.example.com\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
        b"--O\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--O--\r\n"
    )
    assert [(e.recipient, e.kind.value) for e in events_in(outer)] == [
        ("bounces@shop.example.com", "deferred")
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_no_bytes_crash_the_reader(raw: bytes) -> None:
    events_in(raw)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 147), st.integers(0, 4000), st.binary(min_size=1, max_size=40))
def test_no_damaged_real_bounce_crashes_the_reader(n: int, at: int, junk: bytes) -> None:
    files = sorted((CORPUS / "messages").iterdir())
    raw = files[n % len(files)].read_bytes()
    events_in(raw[:at] + junk + raw[at + len(junk) :])
