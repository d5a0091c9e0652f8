"""What comes back after a letter is sent, whichever door it came through.

A bounce in a mailbox, an ARF complaint, an ESP's webhook, a reply, a mail to
the unsubscribe address: each adapter reads its format into `FeedbackEvent`s,
and one intake (service/feedback_intake.py) decides what each means for the
customer, the step and the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class FeedbackKind(StrEnum):
    HARD_BOUNCE = "hard_bounce"  # the address does not work: suppress it
    SOFT_BOUNCE = "soft_bounce"  # the mailbox has a temporary problem: count, suppress only if it lasts
    POLICY = "policy"  # the receiver refused the sender: never the recipient's fault
    COMPLAINT = "complaint"  # "this is spam": suppress, count against the step
    DELIVERED = "delivered"  # an ESP says the receiving server accepted it
    DEFERRED = "deferred"  # an ESP is still trying
    UNSUBSCRIBE = "unsubscribe"  # a mail to the List-Unsubscribe mailto: address
    REPLY = "reply"  # a person wrote back
    AUTO_REPLY = "auto_reply"  # out of office, vacation: changes nothing


# Kinds that say the letter did not reach the mailbox.
BOUNCES = frozenset({FeedbackKind.HARD_BOUNCE, FeedbackKind.SOFT_BOUNCE, FeedbackKind.POLICY})


@dataclass(frozen=True)
class FeedbackEvent:
    kind: FeedbackKind
    source: str  # mailbox, ses, postmark, sendgrid, mailgun
    key: str  # the same event delivered twice has the same key: the second changes nothing
    recipient: str = ""  # the address it is about, lower-cased ('' when only a token names them)
    letter_id: int | None = None  # our letter, when the event names it
    message_id: str = ""  # our letter's Message-ID, as an ESP echoes it back
    reason: str = ""  # the bounce's reason (user_unknown, mailbox_full, blocked...) or the complaint's type
    detail: str = ""  # what the server or the person said, for people
    token: str = ""  # an unsubscribe token (mailto: unsubscribes)
    subject: str = ""  # a reply's subject
    text: str = ""  # a reply's words
    occurred_at: datetime | None = None
