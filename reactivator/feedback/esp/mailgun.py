"""Mailgun webhooks (delivered, failed, complained, unsubscribed).

Each call carries `signature: {timestamp, token, signature}`: the hex
HMAC-SHA256 of timestamp + token under the webhook signing key, which comes
only from the environment.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from reactivator.core.feedback import FeedbackEvent, FeedbackKind
from reactivator.errors import InputError, SignatureError
from reactivator.feedback.esp import bounce_kind, parse_json, text, timestamp


def read_mailgun(body: bytes, signing_key: str) -> list[FeedbackEvent]:
    call = parse_json(body)
    if not isinstance(call, dict):
        raise InputError("a Mailgun webhook is one JSON object")
    signed = call.get("signature")
    if not isinstance(signed, dict):
        raise SignatureError("no Mailgun signature")
    message = f"{signed.get('timestamp', '')}{signed.get('token', '')}".encode()
    expected = hmac.new(signing_key.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), str(signed.get("signature", "")).encode()):
        raise SignatureError("the Mailgun signature does not match")
    data = call.get("event-data")
    return _events(data) if isinstance(data, dict) else []


def _events(data: dict[str, Any]) -> list[FeedbackEvent]:
    name = str(data.get("event") or "")
    recipient = text(data.get("recipient"), 320).strip().lower()
    headers = (data.get("message") or {}).get("headers") or {}
    ours = text(headers.get("message-id"), 300)
    if ours and not ours.startswith("<"):
        ours = f"<{ours}>"  # Mailgun gives the Message-ID without its angle brackets
    status = data.get("delivery-status") or {}
    said = " ".join(text(status.get(k)) for k in ("code", "message", "description") if status.get(k))
    key = text(data.get("id") or f"{name}:{recipient}:{data.get('timestamp')}", 150)
    at = timestamp(data.get("timestamp"))

    def event(kind: FeedbackKind, **fields: Any) -> list[FeedbackEvent]:
        return [
            FeedbackEvent(
                kind, "mailgun", key, recipient=recipient, message_id=ours, occurred_at=at, **fields
            )
        ]

    if name == "failed":
        permanent = data.get("severity") == "permanent"
        if data.get("reason") in ("suppress-bounce",):
            return event(FeedbackKind.HARD_BOUNCE, reason="suppressed_by_esp", detail=said)
        kind, reason = bounce_kind(permanent, text(status.get("enhanced-code"), 20) or None, said)
        # A temporary failure is one Mailgun will try again: a deferral, not a bounce yet.
        return event(kind if permanent else FeedbackKind.DEFERRED, reason=reason, detail=said)
    if name == "complained":
        return event(FeedbackKind.COMPLAINT, reason="abuse")
    if name == "delivered":
        return event(FeedbackKind.DELIVERED, detail=said)
    if name == "unsubscribed":
        return event(FeedbackKind.UNSUBSCRIBE, reason="esp_unsubscribe")
    return []
