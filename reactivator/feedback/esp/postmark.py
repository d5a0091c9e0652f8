"""Postmark webhooks (Bounce, SpamComplaint, Delivery, SubscriptionChange).

Postmark signs nothing: its webhooks are protected by HTTP Basic credentials
written into the webhook URL (https://user:password@shop.example.com/webhooks/postmark),
which Postmark sends with every call. The password comes only from the environment.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from reactivator.core.feedback import FeedbackEvent, FeedbackKind
from reactivator.errors import InputError, SignatureError
from reactivator.feedback.esp import bounce_kind, parse_json, text, timestamp

# Postmark's bounce types that say nothing about the recipient's mailbox.
_NOT_BOUNCES = {
    "Subscribe",
    "Unsubscribe",
    "OpenRelayTest",
    "AutoResponder",
    "AddressChange",
    "ChallengeVerification",
}
_POLICY_TYPES = {"Blocked", "SpamNotification", "VirusNotification", "ContentRelated", "DMARCPolicy"}
_SOFT_TYPES = {"SoftBounce", "Transient", "DnsError", "ManuallyDeactivated", "TemplateRenderingFailed"}


def check_basic_auth(authorization: str | None, password: str) -> None:
    if not authorization or not authorization.lower().startswith("basic "):
        raise SignatureError("missing HTTP Basic credentials")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SignatureError("malformed HTTP Basic credentials") from None
    given = decoded.partition(":")[2]
    if not hmac.compare_digest(given.encode(), password.encode()):
        raise SignatureError("wrong HTTP Basic credentials")


def postmark_events(body: bytes) -> list[FeedbackEvent]:
    record = parse_json(body)
    if not isinstance(record, dict):
        raise InputError("a Postmark webhook is one JSON object")
    return _events(record)


def _events(record: dict[str, Any]) -> list[FeedbackEvent]:
    kind = str(record.get("RecordType") or "")
    recipient = text(record.get("Email") or record.get("Recipient"), 320).strip().lower()
    postmark_id = text(record.get("ID") or record.get("MessageID"), 100)
    ours = _our_message_id(record)

    def event(kind: FeedbackKind, **fields: Any) -> list[FeedbackEvent]:
        key = f"{kind.value}:{postmark_id}:{recipient}"
        return [FeedbackEvent(kind, "postmark", key, recipient=recipient, message_id=ours, **fields)]

    if kind == "Bounce":
        bounce_type = str(record.get("Type") or "")
        if bounce_type in _NOT_BOUNCES:
            return []
        said = text(record.get("Details") or record.get("Description"))
        what, reason = bounce_kind(bounce_type not in _SOFT_TYPES, None, said)
        if bounce_type in _POLICY_TYPES:
            what, reason = FeedbackKind.POLICY, bounce_type.lower()
        elif bounce_type == "HardBounce" and what is not FeedbackKind.POLICY:
            what = FeedbackKind.HARD_BOUNCE
        return event(what, reason=reason, detail=said, occurred_at=timestamp(record.get("BouncedAt")))
    if kind == "SpamComplaint":
        return event(FeedbackKind.COMPLAINT, reason="abuse", occurred_at=timestamp(record.get("BouncedAt")))
    if kind == "Delivery":
        return event(
            FeedbackKind.DELIVERED,
            detail=text(record.get("Details")),
            occurred_at=timestamp(record.get("DeliveredAt")),
        )
    if kind == "SubscriptionChange" and record.get("SuppressSending"):
        reason = str(record.get("SuppressionReason") or "")
        if reason == "SpamComplaint":
            return event(FeedbackKind.COMPLAINT, reason="abuse")
        if reason == "HardBounce":
            return event(FeedbackKind.HARD_BOUNCE, reason="suppressed_by_esp")
        return event(FeedbackKind.UNSUBSCRIBE, reason="esp_unsubscribe")
    return []


def _our_message_id(record: dict[str, Any]) -> str:
    """Our Message-ID, when Postmark includes the letter's headers."""
    for header in record.get("Headers") or []:
        if isinstance(header, dict) and str(header.get("Name", "")).lower() == "message-id":
            return text(header.get("Value"), 300)
    return ""
