"""The ESPs' event webhooks over real HTTP, on both backends: Amazon SES through SNS (with
its signing certificate served by a loopback stand-in for SNS), Postmark, SendGrid, Mailgun.

Payloads follow the providers' documented examples. A forged or unsigned call gets
401 and writes nothing; a redelivered event changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from reactivator.db.tables import feedback_events
from reactivator.service.app import App, app_from_settings
from reactivator.service.engagement import Engagement
from reactivator.web.endpoints import build_web_app
from tests.conftest import make_settings
from tests.feedback.test_intake import sent_letters
from tests.helpers import customer_row
from tests.smtp_servers import free_port
from tests.web.conftest import running

NOW = datetime.now(UTC).replace(microsecond=0)
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-feedback"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
SUBSCRIBE_URL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=t"
POSTMARK_PASSWORD = "pm-hook-password"
MAILGUN_KEY = "key-mailgun-signing"


@dataclass
class FakeSns:
    """A loopback stand-in for SNS's certificate and subscription URLs, over real HTTP."""

    key: rsa.RSAPrivateKey
    certificate: bytes
    base: str = ""
    fetched: list[str] = field(default_factory=list)

    def fetch(self, url: str) -> bytes:
        """The product's fetch, with SNS's host swapped for the loopback server."""
        from reactivator.feedback.esp.ses import sns_url

        sns_url(url)  # the product's rule first: only SNS hosts over HTTPS
        self.fetched.append(url)
        local = self.base + url.split("amazonaws.com", 1)[1]
        with urllib.request.urlopen(local, timeout=5) as response:
            return bytes(response.read())

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        fields = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
        if message["Type"] != "Notification":
            fields = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        signed = "".join(f"{k}\n{message[k]}\n" for k in fields if k in message).encode()
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(signed, padding.PKCS1v15(), algorithm)
        return {
            **message,
            "SignatureVersion": version,
            "Signature": base64.b64encode(signature).decode(),
            "SigningCertURL": CERT_URL,
        }


def self_signed() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Hooks:
    app: App
    http: httpx.Client
    sns: FakeSns
    sendgrid_key: ec.EllipticCurvePrivateKey

    def events(self) -> int:
        with self.app.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(feedback_events)).scalar_one())

    def post_sns(self, message: dict[str, Any]) -> httpx.Response:
        return self.http.post("/webhooks/ses", content=json.dumps(message).encode())

    def post_sendgrid(
        self, events: list[dict[str, Any]], key: ec.EllipticCurvePrivateKey | None = None
    ) -> httpx.Response:
        body = json.dumps(events).encode()
        stamp = str(int(NOW.timestamp()))
        signature = (key or self.sendgrid_key).sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers = {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        }
        return self.http.post("/webhooks/sendgrid", content=body, headers=headers)

    def post_mailgun(
        self, data: dict[str, Any], key: str = MAILGUN_KEY, token: str = "tok1"
    ) -> httpx.Response:
        stamp = str(int(NOW.timestamp()))
        signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
        call = {"signature": {"timestamp": stamp, "token": token, "signature": signature}, "event-data": data}
        return self.http.post("/webhooks/mailgun", json=call)


@pytest.fixture
def hooks(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hooks]:
    key, certificate = self_signed()
    sns = FakeSns(key, certificate)
    confirmed: list[str] = []

    async def pem(request: Request) -> Response:
        return Response(certificate, media_type="application/x-pem-file")

    async def subscribe(request: Request) -> Response:
        confirmed.append(str(request.url))
        return PlainTextResponse("<ConfirmSubscriptionResponse/>")

    sendgrid_key = ec.generate_private_key(ec.SECP256R1())
    public = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("REACTIVATOR_SES_TOPIC_ARNS", TOPIC)
    monkeypatch.setenv("REACTIVATOR_POSTMARK_WEBHOOK_PASSWORD", POSTMARK_PASSWORD)
    monkeypatch.setenv("REACTIVATOR_SENDGRID_WEBHOOK_KEY", base64.b64encode(public).decode())
    monkeypatch.setenv("REACTIVATOR_MAILGUN_SIGNING_KEY", MAILGUN_KEY)
    app = app_from_settings(make_settings(db_url))
    fake = Starlette(routes=[Route("/{name}.pem", pem), Route("/", subscribe)])
    with (
        running(fake, free_port()) as sns_base,
        running(build_web_app(Engagement.start(app, NOW), esp_fetch=sns.fetch), free_port()) as url,
        httpx.Client(base_url=url) as http,
    ):
        sns.base = sns_base
        hooks = Hooks(app, http, sns, sendgrid_key)
        hooks.confirmed = confirmed  # type: ignore[attr-defined]
        yield hooks
    app.db.dispose()


def ses_notification(kind: str, body: dict[str, Any], message_id: str, ours: str) -> dict[str, Any]:
    """An SNS Notification carrying an SES notification, as AWS documents them."""
    inner = {
        "notificationType": kind,
        **body,
        "mail": {
            "timestamp": "2026-12-01T10:00:00.000Z",
            "source": "news@shop.example.com",
            "messageId": "0100018c-ses-id",
            "destination": ["c1@example.com"],
            "commonHeaders": {"messageId": ours, "subject": "We miss you"},
        },
    }
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(inner),
        "Timestamp": "2026-12-01T10:00:01.000Z",
    }


def test_ses_through_sns_bounces_complaints_deliveries_verified_and_once(hooks: Hooks) -> None:
    letters = sent_letters(hooks.app, "c1", "c2", "c3")
    confirm = hooks.sns.sign(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "sub-1",
            "Token": "t",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": SUBSCRIBE_URL,
            "Timestamp": "2026-12-01T09:00:00.000Z",
        }
    )
    response = hooks.post_sns(confirm)
    assert (response.status_code, response.json()["sns"]) == (200, "confirmed")
    assert len(hooks.confirmed) == 1  # type: ignore[attr-defined]
    bounce = {
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "c1@example.com",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "feedbackId": "0100018c-bounce",
        }
    }
    complaint = {
        "complaint": {
            "complainedRecipients": [{"emailAddress": "c2@example.com"}],
            "complaintFeedbackType": "abuse",
            "feedbackId": "0100018c-complaint",
        }
    }
    delivery = {
        "delivery": {
            "recipients": ["c3@example.com"],
            "smtpResponse": "250 2.0.0 OK",
            "timestamp": "2026-12-01T10:00:02Z",
        }
    }
    for kind, body, sns_id, who in (
        ("Bounce", bounce, "n-1", "c1"),
        ("Complaint", complaint, "n-2", "c2"),
        ("Delivery", delivery, "n-3", "c3"),
    ):
        signed = hooks.sns.sign(
            ses_notification(kind, body, sns_id, str(letters[who]["Message-ID"])), version="2"
        )
        response = hooks.post_sns(signed)
        assert response.status_code == 200, response.text
    assert customer_row(hooks.app, "c1")["subscription"] == "bounced"
    assert customer_row(hooks.app, "c2")["subscription"] == "unsubscribed"
    assert customer_row(hooks.app, "c3")["subscription"] == "subscribed"
    assert hooks.events() == 3
    assert hooks.sns.fetched.count(CERT_URL) == 1  # the certificate is fetched once and kept
    # Redelivered: nothing changes.
    again = hooks.post_sns(hooks.sns.sign(ses_notification("Bounce", bounce, "n-1", "<x@y>")))
    assert (again.status_code, again.json()["repeated"], hooks.events()) == (200, 1, 3)


def test_forged_sns_calls_get_401_and_change_nothing(hooks: Hooks) -> None:
    sent_letters(hooks.app, "c1")
    bounce = {
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "c1@example.com"}]}
    }
    honest = hooks.sns.sign(ses_notification("Bounce", bounce, "n-9", "<x@y>"))
    tampered = {**honest, "Message": honest["Message"].replace("Permanent", "Transient")}
    elsewhere = {**honest, "SigningCertURL": "https://evil.example.com/cert.pem"}
    plain_http = {**honest, "SigningCertURL": CERT_URL.replace("https", "http")}
    other_topic = hooks.sns.sign(
        {**ses_notification("Bounce", bounce, "n-8", "<x@y>"), "TopicArn": "arn:aws:sns:us-east-1:666:x"}
    )
    for forged in (tampered, elsewhere, plain_http, other_topic, {**honest, "Signature": "AAAA"}):
        response = hooks.post_sns(forged)
        assert response.status_code == 401, response.text
    assert "evil.example.com" not in " ".join(hooks.sns.fetched)
    assert hooks.events() == 0
    assert customer_row(hooks.app, "c1")["subscription"] == "subscribed"


def test_postmark_needs_its_credentials_and_reads_bounce_types(hooks: Hooks) -> None:
    sent_letters(hooks.app, "c1", "c2", "c3")

    def post(record: dict[str, Any], password: str | None = POSTMARK_PASSWORD) -> httpx.Response:
        auth = ("postmark", password) if password is not None else None
        return hooks.http.post("/webhooks/postmark", json=record, auth=auth)

    hard = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Email": "c1@example.com",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "BouncedAt": "2026-12-01T10:00:00Z",
        "MessageStream": "outbound",
    }
    soft = {
        **hard,
        "ID": 2,
        "Type": "SoftBounce",
        "TypeCode": 4096,
        "Email": "c2@example.com",
        "Details": "mailbox full",
    }
    spam = {"RecordType": "SpamComplaint", "ID": 3, "Type": "SpamComplaint", "Email": "c3@example.com"}
    assert post(hard, password=None).status_code == 401
    assert post(hard, password="wrong").status_code == 401
    assert hooks.events() == 0
    for record in (hard, soft, spam, hard):
        assert post(record).status_code == 200
    assert [customer_row(hooks.app, c)["subscription"] for c in ("c1", "c2", "c3")] == [
        "bounced",
        "subscribed",
        "unsubscribed",
    ]
    assert hooks.events() == 3


def test_sendgrid_checks_its_ecdsa_signature(hooks: Hooks) -> None:
    letters = sent_letters(hooks.app, "c1", "c2", "c3")
    batch = [
        {
            "email": "c1@example.com",
            "timestamp": int(NOW.timestamp()),
            "smtp-id": str(letters["c1"]["Message-ID"]),
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
            "sg_event_id": "sg-1",
            "sg_message_id": "m1",
        },
        {"email": "c2@example.com", "timestamp": 1, "event": "spamreport", "sg_event_id": "sg-2"},
        {
            "email": "c3@example.com",
            "timestamp": 1,
            "event": "deferred",
            "response": "421 try later",
            "sg_event_id": "sg-3",
        },
    ]
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert hooks.post_sendgrid(batch, key=stranger).status_code == 401
    assert hooks.http.post("/webhooks/sendgrid", json=batch).status_code == 401
    assert hooks.events() == 0
    response = hooks.post_sendgrid(batch)
    assert response.json()["events"] == {"hard_bounce": 1, "complaint": 1, "deferred": 1}
    assert [customer_row(hooks.app, c)["subscription"] for c in ("c1", "c2", "c3")] == [
        "bounced",
        "unsubscribed",
        "subscribed",
    ]
    assert hooks.post_sendgrid(batch).json()["repeated"] == 3


def test_mailgun_checks_its_hmac_and_tells_permanent_from_temporary(hooks: Hooks) -> None:
    letters = sent_letters(hooks.app, "c1", "c2")
    failed = {
        "id": "mg-1",
        "event": "failed",
        "severity": "permanent",
        "recipient": "c1@example.com",
        "timestamp": NOW.timestamp(),
        "message": {"headers": {"message-id": str(letters["c1"]["Message-ID"]).strip("<>")}},
        "delivery-status": {
            "code": 550,
            "message": "5.1.1 The email account that you tried to reach does not exist",
        },
    }
    later = {
        **failed,
        "id": "mg-2",
        "severity": "temporary",
        "recipient": "c2@example.com",
        "delivery-status": {"code": 452, "message": "4.2.2 mailbox full"},
    }
    assert hooks.post_mailgun(failed, key="wrong").status_code == 401
    assert hooks.http.post("/webhooks/mailgun", json={"event-data": failed}).status_code == 401
    assert hooks.events() == 0
    assert hooks.post_mailgun(failed).json()["events"] == {"hard_bounce": 1}
    assert hooks.post_mailgun(later, token="tok2").json()["events"] == {"deferred": 1}
    assert [customer_row(hooks.app, c)["subscription"] for c in ("c1", "c2")] == ["bounced", "subscribed"]


def test_a_webhook_without_its_secret_is_off(hooks: Hooks, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REACTIVATOR_MAILGUN_SIGNING_KEY")
    response = hooks.post_mailgun({"event": "complained", "recipient": "x@example.com"})
    assert response.status_code == 401
    assert "REACTIVATOR_MAILGUN_SIGNING_KEY" in response.text
