"""Amazon SES events through SNS (bounce, complaint, delivery, delivery delay).

SNS signs every message with a key whose certificate it publishes at
`SigningCertURL`; that URL is trusted only on an SNS host over HTTPS
(sns.<region>.amazonaws.com), fetched once and cached. The string signed is
the message's fields in SNS's documented order; SignatureVersion 1 is
SHA1withRSA, 2 is SHA256withRSA. A subscription is confirmed by fetching its
SubscribeURL, under the same host rule.
"""

from __future__ import annotations

import base64
import re
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from reactivator.core.feedback import FeedbackEvent, FeedbackKind
from reactivator.errors import InputError, SignatureError
from reactivator.feedback.esp import bounce_kind, parse_json, text, timestamp

_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$")
_SUBSCRIPTION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_SIGNED_FIELDS = {  # in SNS's documented order
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _SUBSCRIPTION_FIELDS,
    "UnsubscribeConfirmation": _SUBSCRIPTION_FIELDS,
}
Fetch = Callable[[str], bytes]


def fetch_https(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (https on an SNS host only)
        return bytes(response.read(100_000))


def sns_url(url: object) -> str:
    """`url` if it is HTTPS on an SNS host; SignatureError otherwise (never fetch a stranger's URL)."""
    parts = urlsplit(str(url or ""))
    if parts.scheme != "https" or not _SNS_HOST.match(parts.hostname or "") or parts.port not in (None, 443):
        raise SignatureError(f"not an Amazon SNS URL: {str(url)[:200]!r}")
    return str(url)


@dataclass
class SnsVerifier:
    """Checks SNS signatures; certificates are fetched once per URL and kept."""

    fetch: Fetch = fetch_https
    topics: tuple[str, ...] = ()  # accepted TopicArns; empty: any
    _certificates: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, message: dict[str, Any]) -> None:
        kind = message.get("Type")
        if kind not in _SIGNED_FIELDS:
            raise SignatureError(f"not an SNS message (Type {str(kind)[:40]!r})")
        if self.topics and message.get("TopicArn") not in self.topics:
            raise SignatureError(f"topic {str(message.get('TopicArn'))[:200]!r} is not one configured")
        version = str(message.get("SignatureVersion", ""))
        algorithm: hashes.HashAlgorithm
        if version == "1":
            algorithm = hashes.SHA1()  # noqa: S303 (SNS's SignatureVersion 1 is SHA1withRSA)
        elif version == "2":
            algorithm = hashes.SHA256()
        else:
            raise SignatureError(f"unknown SNS SignatureVersion {version[:10]!r}")
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        except ValueError:
            raise SignatureError("the SNS signature is not base64") from None
        signed = "".join(
            f"{name}\n{message[name]}\n" for name in _SIGNED_FIELDS[kind] if message.get(name) is not None
        ).encode()
        key = self._key(sns_url(message.get("SigningCertURL")))
        try:
            key.verify(signature, signed, padding.PKCS1v15(), algorithm)
        except InvalidSignature:
            raise SignatureError("the SNS signature does not match") from None

    def _key(self, url: str) -> rsa.RSAPublicKey:
        with self._lock:
            cached = self._certificates.get(url)
        if cached is not None:
            return cached
        try:
            certificate = x509.load_pem_x509_certificate(self.fetch(url))
        except (OSError, ValueError) as exc:
            raise SignatureError(f"cannot load the SNS signing certificate: {exc}") from None
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureError("the SNS signing certificate holds no RSA key")
        with self._lock:
            self._certificates[url] = key
        return key

    def confirm(self, message: dict[str, Any]) -> None:
        """Subscribe to the topic (a SubscriptionConfirmation already verified)."""
        try:
            self.fetch(sns_url(message.get("SubscribeURL")))
        except OSError as exc:
            raise InputError(f"could not confirm the SNS subscription: {exc}") from None


def ses_events(notification: dict[str, Any], sns_message_id: str) -> list[FeedbackEvent]:
    """The events of one SES notification (event publishing's eventType, or notificationType)."""
    kind = str(notification.get("eventType") or notification.get("notificationType") or "")
    mail = notification.get("mail") or {}
    ours = text((mail.get("commonHeaders") or {}).get("messageId") or _header(mail, "Message-ID"), 300)
    found: list[FeedbackEvent] = []

    def event(kind: FeedbackKind, recipient: object, n: int, **fields: Any) -> None:
        address = text(recipient, 320).strip().lower()
        key = f"{sns_message_id}:{n}:{kind.value}"
        found.append(FeedbackEvent(kind, "ses", key, recipient=address, message_id=ours, **fields))

    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        permanent = {"Permanent": True, "Transient": False}.get(str(bounce.get("bounceType")))
        sub = str(bounce.get("bounceSubType") or "")
        for n, recipient in enumerate(bounce.get("bouncedRecipients") or []):
            said = text(recipient.get("diagnosticCode") or sub)
            what, reason = bounce_kind(permanent, recipient.get("status"), f"{said} {sub}")
            if sub in ("Suppressed", "OnAccountSuppressionList") and permanent:
                what, reason = FeedbackKind.HARD_BOUNCE, "suppressed_by_esp"  # it bounced hard before
            if sub in ("ContentRejected", "AttachmentRejected"):
                what, reason = FeedbackKind.POLICY, "content_rejected"
            event(what, recipient.get("emailAddress"), n, reason=reason, detail=said)
    elif kind == "Complaint":
        complaint = notification.get("complaint") or {}
        if complaint.get("complaintFeedbackType") == "not-spam":
            return []
        for n, recipient in enumerate(complaint.get("complainedRecipients") or []):
            reason = text(complaint.get("complaintFeedbackType") or "abuse", 64)
            event(FeedbackKind.COMPLAINT, recipient.get("emailAddress"), n, reason=reason)
    elif kind == "Delivery":
        delivery = notification.get("delivery") or {}
        for n, recipient in enumerate(delivery.get("recipients") or []):
            at = timestamp(delivery.get("timestamp"))
            event(
                FeedbackKind.DELIVERED,
                recipient,
                n,
                detail=text(delivery.get("smtpResponse")),
                occurred_at=at,
            )
    elif kind == "DeliveryDelay":
        delay = notification.get("deliveryDelay") or {}
        for n, recipient in enumerate(delay.get("delayedRecipients") or []):
            event(
                FeedbackKind.DEFERRED,
                recipient.get("emailAddress"),
                n,
                detail=text(recipient.get("diagnosticCode")),
            )
    return found


def _header(mail: dict[str, Any], name: str) -> str:
    for header in mail.get("headers") or []:
        if str(header.get("name", "")).lower() == name.lower():
            return str(header.get("value", ""))
    return ""


def read_sns(body: bytes, verifier: SnsVerifier) -> tuple[str, list[FeedbackEvent]]:
    """Verify an SNS call and read it: ("confirmed" | "notification" | "ignored", events)."""
    message = parse_json(body)
    if not isinstance(message, dict):
        raise InputError("an SNS message is one JSON object")
    verifier.verify(message)
    if message["Type"] == "SubscriptionConfirmation":
        verifier.confirm(message)
        return "confirmed", []
    if message["Type"] != "Notification":
        return "ignored", []
    inner = parse_json(str(message.get("Message", "")).encode())
    if not isinstance(inner, dict):
        return "ignored", []
    return "notification", ses_events(inner, str(message.get("MessageId", "")))
