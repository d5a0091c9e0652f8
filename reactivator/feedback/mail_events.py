"""One message from a mailbox, read into what it tells us: bounces, a complaint, an
unsubscribe, a reply, an auto-reply, or nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from reactivator.core.bounce_class import BounceClass
from reactivator.core.feedback import FeedbackEvent, FeedbackKind
from reactivator.feedback.arf import complaint_in, is_feedback_report
from reactivator.feedback.dsn import bounces_in, is_bounce, parse
from reactivator.feedback.replies import personal_mail

_KIND_OF_BOUNCE = {
    BounceClass.HARD: FeedbackKind.HARD_BOUNCE,
    BounceClass.SOFT: FeedbackKind.SOFT_BOUNCE,
    BounceClass.POLICY: FeedbackKind.POLICY,
}


def events_in(
    raw: bytes, *, own: Iterable[str] = (), unsubscribe_addresses: Iterable[str] = ()
) -> list[FeedbackEvent]:
    """What one message says; never raises (a message that cannot be read says nothing)."""
    try:
        message = parse(raw)
    except Exception:
        return []
    identity = _identity(raw, str(message.get("Message-ID", "")))

    def key(kind: FeedbackKind, recipient: str) -> str:
        return f"mail:{identity}:{kind.value}:{recipient}"[:200]

    if is_feedback_report(message):
        complaint = complaint_in(message, raw)
        if complaint is None:
            return []
        kind = FeedbackKind.COMPLAINT
        return [
            FeedbackEvent(
                kind,
                "mailbox",
                key(kind, complaint.recipient),
                recipient=complaint.recipient,
                letter_id=complaint.letter_id,
                reason=complaint.feedback_type,
                detail=complaint.user_agent,
            )
        ]
    if is_bounce(message):
        found = []
        for bounce in bounces_in(raw, own):
            kind = _KIND_OF_BOUNCE[bounce.kind]
            if bounce.action == "delayed":
                kind = FeedbackKind.DEFERRED  # still being tried: not a bounce yet
            found.append(
                FeedbackEvent(
                    kind,
                    "mailbox",
                    key(kind, bounce.recipient),
                    recipient=bounce.recipient,
                    letter_id=bounce.letter_id,
                    reason=bounce.verdict.reason,
                    detail=bounce.diagnostic,
                )
            )
        return found
    mail = personal_mail(message, unsubscribe_addresses)
    if mail.automatic:
        kind = FeedbackKind.AUTO_REPLY
        return [FeedbackEvent(kind, "mailbox", key(kind, mail.sender), mail.sender, mail.letter_id)]
    if mail.unsubscribe:
        kind = FeedbackKind.UNSUBSCRIBE
        return [FeedbackEvent(kind, "mailbox", key(kind, mail.sender), mail.sender, token=mail.token)]
    if mail.letter_id is not None:
        kind = FeedbackKind.REPLY
        return [
            FeedbackEvent(
                kind,
                "mailbox",
                key(kind, mail.sender),
                mail.sender,
                mail.letter_id,
                subject=mail.subject,
                text=mail.text,
            )
        ]
    return []


def _identity(raw: bytes, message_id: str) -> str:
    """A message's identity: its Message-ID when it has one, else its bytes."""
    basis = message_id.strip().encode() if message_id.strip() else raw
    return hashlib.sha256(basis).hexdigest()[:40]
