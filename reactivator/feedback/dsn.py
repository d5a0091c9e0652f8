"""Delivery status notifications (RFC 3464) read with the stdlib: who bounced, and how hard.

A DSN is a multipart/report with a message/delivery-status part: one block
of per-message fields, then a block per recipient with Action, Status
(RFC 3463, e.g. 5.1.1) and Final-Recipient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

_STATUS = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
_VERP = re.compile(r"\+(\d+)@")


@dataclass(frozen=True)
class Bounce:
    recipient: str
    status: str  # e.g. "5.1.1"
    action: str  # failed, delayed, delivered, relayed, expanded
    letter_id: int | None  # from a VERP return path, when the DSN came back to one

    @property
    def hard(self) -> bool:
        """A permanent failure: the address must not be mailed again."""
        return self.action == "failed" and self.status.startswith("5.")


def bounces_in(raw: bytes) -> list[Bounce]:
    """The recipients a DSN reports on; empty when the message is no DSN."""
    message = message_from_bytes(raw, policy=policy.compat32)
    if message.get_content_type() != "multipart/report":
        return []
    verp = _VERP.search(str(message.get("To", "")) + str(message.get("X-Original-To", "")))
    letter_id = int(verp.group(1)) if verp else None
    found: list[Bounce] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:]:  # the first block is about the message, the rest about recipients
            if not isinstance(block, Message):
                continue
            bounce = _recipient_block(block, letter_id)
            if bounce is not None:
                found.append(bounce)
    return found


def _recipient_block(block: Message, letter_id: int | None) -> Bounce | None:
    recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
    address = recipient.split(";", 1)[-1].strip().strip("<>")
    status = _STATUS.match(str(block.get("Status", "")))
    action = str(block.get("Action", "")).strip().lower()
    if not address or "@" not in address or status is None:
        return None
    return Bounce(address.lower(), ".".join(status.groups()), action, letter_id)
