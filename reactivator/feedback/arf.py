"""Complaints: ARF feedback reports (RFC 5965), as Yahoo's and Microsoft's feedback loops send them.

A report is `multipart/report; report-type=feedback-report` with a human part,
a `message/feedback-report` part of fields, and the complained-of message (or
its headers). The recipient comes from `Original-Rcpt-To` when the loop gives
it; otherwise our letter is found by its Message-ID or VERP return path in the
returned headers (Microsoft redacts the addresses but keeps those).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from reactivator.feedback.dsn import RETURNED, letter_of
from reactivator.feedback.headers import first_address

# Feedback types that are someone saying "spam" (RFC 5965 section 7.3). "not-spam" is the
# opposite, and "auth-failure" is a DMARC/DKIM failure report, not a person's complaint.
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus", "other"})


@dataclass(frozen=True)
class Complaint:
    recipient: str  # '' when the loop redacted it: then the letter tells who
    letter_id: int | None
    feedback_type: str
    user_agent: str


def is_feedback_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type") or "").lower() == "feedback-report"
    )


def complaint_in(message: Message, raw: bytes) -> Complaint | None:
    """The complaint an ARF report makes, or None (not a report, or not a complaint)."""
    if not is_feedback_report(message):
        return None
    fields = _report_fields(message)
    feedback_type = fields.get("feedback-type", "abuse").strip().lower() or "abuse"
    if feedback_type not in COMPLAINT_TYPES:
        return None
    recipient = first_address(fields.get("original-rcpt-to", "")) or _returned_recipient(message)
    return Complaint(recipient, letter_of(message, raw), feedback_type, fields.get("user-agent", "")[:200])


def _report_fields(message: Message) -> dict[str, str]:
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        payload = part.get_payload()
        if isinstance(payload, list):  # the parser read the fields as a header block
            return {
                k.lower(): str(v) for block in payload if isinstance(block, Message) for k, v in block.items()
            }
        text = payload if isinstance(payload, str) else ""
        fields: dict[str, str] = {}
        for line in text.splitlines():
            name, colon, value = line.partition(":")
            if colon and name.strip():
                fields.setdefault(name.strip().lower(), value.strip())
        return fields
    return {}


def _returned_recipient(message: Message) -> str:
    """The To of the complained-of message (only ever from the report's returned part)."""
    for part in message.walk():
        if part.get_content_type() not in RETURNED:
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            return first_address(str(inner.get("To", "")))
        if isinstance(payload, str):
            found = re.search(r"^To:\s*(.+)$", payload, re.MULTILINE | re.IGNORECASE)
            return first_address(found.group(1)) if found else ""
    return ""
