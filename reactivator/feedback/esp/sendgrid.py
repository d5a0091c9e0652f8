"""SendGrid's signed event webhook (delivered, deferred, bounce, dropped, spamreport, unsubscribe).

SendGrid signs each call with ECDSA (P-256, SHA-256) over the timestamp header
followed by the raw body; the public key (base64 DER, from the SendGrid
settings page) comes only from the environment.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reactivator.core.feedback import FeedbackEvent, FeedbackKind
from reactivator.errors import ConfigError, InputError, SignatureError
from reactivator.feedback.esp import bounce_kind, parse_json, text, timestamp

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"


def public_key(encoded: str, env: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(base64.b64decode(encoded.strip()))
    except (ValueError, binascii.Error):
        raise ConfigError(
            [f"{env} is not a base64 public key (copy it from SendGrid's event webhook page)"]
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError([f"{env} is not an ECDSA public key"])
    return key


def verify(body: bytes, headers: dict[str, str], key: ec.EllipticCurvePublicKey) -> None:
    signature, stamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    if not signature or not stamp:
        raise SignatureError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    try:
        key.verify(base64.b64decode(signature), stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        raise SignatureError("the SendGrid signature does not match") from None


def sendgrid_events(body: bytes) -> list[FeedbackEvent]:
    batch = parse_json(body)
    if not isinstance(batch, list):
        raise InputError("SendGrid posts a JSON array of events")
    found: list[FeedbackEvent] = []
    for item in batch:
        if isinstance(item, dict):
            found += _event(item)
    return found


def _event(item: dict[str, Any]) -> list[FeedbackEvent]:
    name = str(item.get("event") or "")
    recipient = text(item.get("email"), 320).strip().lower()
    key = text(item.get("sg_event_id") or f"{item.get('sg_message_id')}:{name}:{recipient}", 150)
    ours = text(item.get("smtp-id"), 300)
    said = text(item.get("reason") or item.get("response"))
    at = timestamp(item.get("timestamp"))

    def event(kind: FeedbackKind, **fields: Any) -> list[FeedbackEvent]:
        return [
            FeedbackEvent(
                kind, "sendgrid", key, recipient=recipient, message_id=ours, occurred_at=at, **fields
            )
        ]

    if name == "bounce":
        status = text(item.get("status"), 20) or None
        kind, reason = bounce_kind(True, status, said)
        if item.get("type") == "blocked" and kind is FeedbackKind.HARD_BOUNCE:
            kind, reason = FeedbackKind.SOFT_BOUNCE, "blocked"  # SendGrid's "blocked": refused, not unknown
        return event(kind, reason=reason, detail=said)
    if name == "dropped" and "bounced address" in said.lower():
        return event(FeedbackKind.HARD_BOUNCE, reason="suppressed_by_esp", detail=said)
    if name == "spamreport":
        return event(FeedbackKind.COMPLAINT, reason="abuse")
    if name == "delivered":
        return event(FeedbackKind.DELIVERED, detail=said)
    if name == "deferred":
        return event(FeedbackKind.DEFERRED, detail=said)
    if name in ("unsubscribe", "group_unsubscribe"):
        return event(FeedbackKind.UNSUBSCRIBE, reason="esp_unsubscribe")
    return []
