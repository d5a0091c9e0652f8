"""What a refusal means, whatever transport reported it.

A mail server's reply (or an ESP's event) is read once, at the adapter's
edge, into one of four reasons; everything after that, from the sending
policy to the report, reads only the reason.
"""

from __future__ import annotations

import re
from enum import StrEnum

from reactivator.core.bounce_class import BounceClass, classify


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


def refusal_of_reply(code: int, status: str | None, text: str = "", command: str = "") -> Refusal:
    """An SMTP reply (RFC 5321 code, RFC 3463 status, its words) as a refusal reason.

    Read as bounce reports are (core.bounce_class): an address that does not work
    is a bad mailbox; a refusal of the sender (block lists, authentication,
    content, 5.7.x) is policy; a full mailbox, a rate limit or any 4xx is
    temporary; any other 5xx is permanent for this letter, the address kept.
    `command` is the SMTP command refused (RCPT, MAIL, DATA): "user unknown"
    answering RCPT is a bad mailbox, answering DATA it is the receiver's filter.
    """
    if not 500 <= code < 600:
        return Refusal.TEMPORARY
    verdict = classify(status, f"{code} {status or ''} {text}", command=command)
    if verdict.kind is BounceClass.HARD:
        return Refusal.BAD_MAILBOX
    if verdict.kind is BounceClass.POLICY and verdict.reason == "filtered":
        return Refusal.PERMANENT  # one recipient's filter: this letter fails, the domain is not paused
    if verdict.kind is BounceClass.POLICY:
        return Refusal.POLICY
    if verdict.reason in ("mailbox_full", "temporary", "rate_limit", "network", "expired"):
        return Refusal.TEMPORARY
    return Refusal.PERMANENT
