"""What a refusal means, whatever transport reported it.

A mail server's reply (or an ESP's event) is read once, at the adapter's
edge, into one of four reasons; everything after that, from the sending
policy to the report, reads only the reason.
"""

from __future__ import annotations

import re
from enum import StrEnum


class Refusal(StrEnum):
    """Why a letter was not accepted."""

    BAD_MAILBOX = "bad_mailbox"  # the address does not exist: never mail it again
    POLICY = "policy"  # the receiver refuses the sender, not the person: pause the domain
    TEMPORARY = "temporary"  # try again later
    PERMANENT = "permanent"  # this letter will not be accepted; the address may be fine

    @property
    def permanent(self) -> bool:
        return self is not Refusal.TEMPORARY


_ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


def enhanced_status(text: str) -> str | None:
    """The RFC 3463 status at the start of a reply text ("5.1.1 no such user" -> "5.1.1")."""
    match = _ENHANCED.match(text)
    return match.group(1) if match else None


def refusal_of_reply(code: int, status: str | None) -> Refusal:
    """An SMTP reply code (RFC 5321) and its enhanced status (RFC 3463) as a refusal reason.

    5.1.x with a 5xx code: the mailbox does not exist. x.7.x from 5xx: security or
    policy, which is about the sender (a block list, authentication, content).
    Other 5xx: permanent for this letter. 4xx and anything unknown: temporary.
    """
    status = status or ""
    permanent = 500 <= code < 600
    if permanent and status.startswith("5.1."):
        return Refusal.BAD_MAILBOX
    if status.startswith("5.7."):
        return Refusal.POLICY
    return Refusal.PERMANENT if permanent else Refusal.TEMPORARY
