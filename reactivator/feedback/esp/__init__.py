"""Event webhooks of the ESPs a shop relays through, each read into FeedbackEvents after its
own signature check:

    ses        Amazon SES through SNS: the message signed with SNS's certificate,
               fetched only from an SNS host over HTTPS and cached
    postmark   Postmark: HTTP Basic credentials set on the webhook (Postmark signs nothing)
    sendgrid   SendGrid's signed event webhook: ECDSA (P-256, SHA-256) over timestamp and body
    mailgun    Mailgun: HMAC-SHA256 of timestamp and token under the webhook signing key

Every adapter raises SignatureError before reading anything from a call that
does not check out; its events carry the ESP's own event id, so a redelivery
changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from reactivator.core.bounce_class import BounceClass, classify
from reactivator.core.feedback import FeedbackKind
from reactivator.errors import InputError

BOUNCE_KINDS = {
    BounceClass.HARD: FeedbackKind.HARD_BOUNCE,
    BounceClass.SOFT: FeedbackKind.SOFT_BOUNCE,
    BounceClass.POLICY: FeedbackKind.POLICY,
}


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"the body is not JSON: {exc}") from None


def bounce_kind(permanent: bool | None, status: str | None, said: str) -> tuple[FeedbackKind, str]:
    """An ESP's bounce read as a mailbox bounce is: the words decide; a temporary one never suppresses."""
    verdict = classify(status, said, action="failed" if permanent is not False else "delayed")
    kind = BOUNCE_KINDS[verdict.kind]
    if permanent is False and kind is FeedbackKind.HARD_BOUNCE:
        kind = FeedbackKind.SOFT_BOUNCE
    return kind, verdict.reason


def timestamp(value: object) -> datetime | None:
    """An ESP's time: epoch seconds or ISO 8601."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def text(value: object, limit: int = 1000) -> str:
    return str(value)[:limit] if value is not None else ""
