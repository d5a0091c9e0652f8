"""What comes back: where the daemon reads bounces, complaints and replies, and when a step brakes."""

from __future__ import annotations

from pydantic import Field

from reactivator.config.section import Section


class FeedbackSettings(Section):
    # The mailbox the daemon reads bounces, ARF complaints, mailto: unsubscribes and replies
    # from: a Maildir folder, an mbox file, or imap://user@host[:port]/FOLDER (imaps:// for
    # TLS; the password only from REACTIVATOR_IMAP_PASSWORD). Empty: the daemon reads none.
    mailbox: str = ""
    # How often the daemon reads it: mailbox providers require a mailto: unsubscribe to take
    # effect within two days, so anything up to a day is safe.
    poll_minutes: float = Field(10.0, gt=0, le=1440)
    # A soft bounce (full mailbox, deferral) never suppresses at once; this many in a row,
    # spread over at least this many days with no delivery between, and the address is suppressed.
    soft_bounce_limit: int = Field(5, ge=2)
    soft_bounce_days: float = Field(14.0, gt=0)
    # The complaint brake: when complaints over a step's delivered letters pass this rate
    # (Gmail refuses senders over 0.3% and asks for under 0.1%), once at least
    # `brake_min_delivered` letters were delivered, the step stops until `reactivator resume STEP`.
    complaint_rate: float = Field(0.001, gt=0, lt=1)
    brake_min_delivered: int = Field(1000, ge=1)
    # The sender id in every letter's Feedback-ID header (Gmail's feedback loop groups by it);
    # empty: the From domain.
    feedback_sender_id: str = ""
