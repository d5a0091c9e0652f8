"""Bounces: delivery status notifications (RFC 3464) and the plain-text reports older servers write.

Every report is read for what the *reporting* server says: its per-recipient
blocks (Final-Recipient, Action, Status, Diagnostic-Code), and for reports
without them, its own explanation text (Exim, qmail, old Sendmail, Exchange,
AOL...), with flufl.bounce's detectors as a second opinion. The returned
message (a message/rfc822 or text/rfc822-headers part, or the quoted copy
after "----- Original message -----" and its kin) is never read for
addresses: a double bounce must not suppress whoever it quotes. Only our own
Message-ID in it is used, to find the letter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

from reactivator.core.bounce_class import BounceClass, Verdict, classify, status_in
from reactivator.feedback.headers import ADDRESS, decoded, first_address

_VERP = re.compile(r"\+(\d+)@")
_OUR_MESSAGE_ID = re.compile(r"^Message-ID:\s*<[0-9a-f]{6,}\.(\d+)@", re.IGNORECASE | re.MULTILINE)
RETURNED = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global")
# Where a plain-text report starts quoting the message it returns.
_QUOTE_STARTS = re.compile(
    r"^\s*(?:"
    r"[-=_*]{2,}\s*(?:original message|returned message|unsent message|message headers|"
    r"the (?:original|returned) message|copy of (?:the )?(?:original )?message|"
    r"the header of the original message|original message headers|start of returned message|"
    r"text of the message|rfc822 headers|below this line)|"
    r"this is a copy of the message|below this line is a copy of the message|"
    r"message headers follow|original message follows|the original message follows|"
    r"the original message headers|your message reads|the headers? of your message"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_BLOCK = re.compile(
    r"^(?:Received|Return-Path|From|To|Subject|Date|Message-I[dD]|MIME-Version):\s", re.MULTILINE
)
_BOUNCE_SENDER = re.compile(
    r"mailer-daemon|postmaster|mail delivery|mail administrator|maildelivery|system administrator|"
    r"\bndr\b|mail (?:system|server)|delivery subsystem|mailerdaemon",
    re.I,
)
_FAILED_TO_DELIVER = re.compile(
    r"did not reach|could not be delivered|couldn't be delivered|undeliverable|delivery (?:has )?failed|"
    r"failed to deliver|unable to deliver|permanent (?:fatal )?error|was not delivered|returned to sender|"
    r"not be delivered|delivery to the following recipient",
    re.I,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status|failure|failed|has failed|notification|problem)|"
    r"returned mail|failure notice|mail delivery failed|could not be delivered|"
    r"non[- ]?deliver|nondelivery|rejected|delivery incomplete|mail system error|bounce",
    re.IGNORECASE,
)
# A server's refusal quoted with its enhanced status ("550 5.1.1"): a report in any language.
_SMTP_REFUSAL = re.compile(r"\b(?:5\d\d[ -]5|4\d\d[ -]4)\.\d{1,3}\.\d{1,3}\b")
_NOT_RECIPIENTS = re.compile(r"^(?:mailer-daemon|postmaster|abuse|noreply|no-reply|root)@", re.I)
_FAILURE_WORDS = re.compile(
    r"\b[45]\d\d\b|\b[45]\.\d{1,3}\.\d{1,3}\b|fail|reject|refus|unknown|not exist|unable|could not|"
    r"undeliver|bounced|invalid|denied|full|quota|expired|blocked|error|problem|permanent",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Bounce:
    recipient: str
    status: str | None  # the enhanced status, e.g. "5.1.1", when the report gives one
    action: str  # failed, delayed, delivered, relayed, expanded
    verdict: Verdict
    diagnostic: str  # what the server said, for people
    letter_id: int | None  # from a VERP return path or our Message-ID in the returned message

    @property
    def hard(self) -> bool:
        """The address does not work: suppress it."""
        return self.verdict.kind is BounceClass.HARD and self.action in ("failed", "")

    @property
    def kind(self) -> BounceClass:
        return self.verdict.kind


def parse(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=policy.compat32)


def own_parts(message: Message) -> Iterator[Message]:
    """The report's own parts, never the parts of the message it returns."""
    yield message
    if message.get_content_type() in RETURNED:
        return
    payload = message.get_payload()
    if isinstance(payload, list):
        for part in payload:
            if isinstance(part, Message):
                yield from own_parts(part)


def letter_of(message: Message, raw: bytes) -> int | None:
    """Our letter the report is about: VERP in where it was delivered, or our Message-ID returned."""
    for header in ("To", "X-Original-To", "Delivered-To", "Envelope-To"):
        found = _VERP.search(str(message.get(header, "")))
        if found:
            return int(found.group(1))
    ours = _OUR_MESSAGE_ID.search(raw[:5_000_000].decode("latin-1"))
    return int(ours.group(1)) if ours else None


def is_bounce(message: Message) -> bool:
    """Whether the message reports a delivery problem (not an auto-reply, not a complaint)."""
    kind = message.get_content_type()
    report = str(message.get_param("report-type") or "").lower()
    if kind == "multipart/report" and report == "feedback-report":
        return False
    if kind == "multipart/report" and report in ("delivery-status", "disposition-notification", ""):
        return report != "disposition-notification"
    if message.get("X-Failed-Recipients"):
        return True
    if any(p.get_content_type() == "message/delivery-status" for p in own_parts(message)):
        return True
    if str(message.get("Auto-Submitted", "")).lower().startswith("auto-replied"):
        return False  # vacation and out-of-office replies
    sender = decoded(message.get("From")) + " " + str(message.get("Return-Path", ""))
    from_daemon = bool(_BOUNCE_SENDER.search(sender)) or str(message.get("Return-Path", "")).strip() in (
        "<>",
        "",
    )
    if not from_daemon:
        return False
    subject = decoded(message.get("Subject"))
    said = _explanation(message)[:5000]
    return bool(
        _BOUNCE_SUBJECT.search(subject) or _FAILED_TO_DELIVER.search(said) or _SMTP_REFUSAL.search(said)
    )


def bounces_in(raw: bytes, own: Iterable[str] = ()) -> list[Bounce]:
    """Every recipient a report says could not be reached, classified; empty for anything else.

    `own`: our addresses (the sender, the return path), never taken for recipients.
    """
    try:
        message = parse(raw)
    except Exception:
        return []
    if not is_bounce(message):
        return []
    letter_id = letter_of(message, raw)
    explanation = _explanation(message)
    found = _from_delivery_status(message, explanation, letter_id) or _from_status_fields(
        explanation, letter_id
    )
    if found:
        return found
    return _from_text(message, explanation, letter_id, {a.lower() for a in own})


# ---- RFC 3464 ------------------------------------------------------------------------------------


def _fields(text: str) -> list[dict[str, str]]:
    """The blocks of a delivery-status body: header fields separated by blank lines."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
            continue
        if line[:1] in (" ", "\t") and last:
            current[last] += " " + line.strip()
            continue
        name, colon, value = line.partition(":")
        if colon:
            last = name.strip().lower()
            current[last] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _status_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # the stdlib parsed the blocks as header groups
        return "\n\n".join(
            "\n".join(f"{k}: {v}" for k, v in block.items())
            for block in payload
            if isinstance(block, Message)
        )
    raw = part.get_payload(decode=True)
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)


def _from_delivery_status(message: Message, explanation: str, letter_id: int | None) -> list[Bounce]:
    found: list[Bounce] = []
    for part in own_parts(message):
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            found += _from_blocks(_fields(_status_text(part)), explanation, letter_id)
    return found


def _from_status_fields(explanation: str, letter_id: int | None) -> list[Bounce]:
    """RFC 3464 fields written into a report's text (its MIME parts broken or missing)."""
    start = re.search(r"^(?:Reporting-MTA|Final-Recipient):", explanation, re.IGNORECASE | re.MULTILINE)
    if start is None:
        return []
    return _from_blocks(_fields(explanation[start.start() :]), explanation[: start.start()], letter_id)


def _from_blocks(blocks: list[dict[str, str]], explanation: str, letter_id: int | None) -> list[Bounce]:
    found: list[Bounce] = []
    for block in blocks:
        recipient = block.get("final-recipient") or block.get("original-recipient") or ""
        address = _address(recipient.split(";", 1)[-1])
        if address is None:
            continue  # the block about the message, not a recipient
        action = block.get("action", "").lower().strip() or "failed"
        if action not in ("failed", "delayed"):
            continue  # delivered, relayed, expanded: nothing went wrong
        said = block.get("diagnostic-code", "").split(";", 1)[-1]
        context = " ".join(p for p in (said, block.get("status", ""), _near(explanation, address)) if p)
        status = status_in(block.get("status", "")) or status_in(said)
        verdict = classify(
            status,
            context or explanation[:2000],
            action=action,
            transcript=explanation,
            recipient=address,
        )
        found.append(Bounce(address, status, action, verdict, context[:500], letter_id))
    return found


# ---- plain-text reports ----------------------------------------------------------------------


def _explanation(message: Message) -> str:
    """The report's own words: its text parts before any returned message, cut where it quotes."""
    texts: list[str] = []
    for part in own_parts(message):
        if part.get_content_type() in RETURNED:
            break
        broken = part.is_multipart() is False and part.get_content_maintype() == "multipart"
        if not broken and (
            part.get_content_maintype() != "text" or part.get_content_type() == "text/rfc822-headers"
        ):
            continue
        # A multipart report whose boundaries do not match is one text to the parser: read it as such.
        raw = part.get_payload() if broken else part.get_payload(decode=True)
        raw = raw.encode("latin-1", "replace") if isinstance(raw, str) else raw
        if not isinstance(raw, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = raw.decode(charset, "replace")
        except LookupError:
            text = raw.decode("utf-8", "replace")
        if part.get_content_type() == "text/html":
            text = re.sub(r"<[^>]+>", " ", text)
        texts.append(text)
        if not message.is_multipart():
            break
    text = "\n".join(texts)
    quote = _QUOTE_STARTS.search(text)
    if quote:
        text = text[: quote.start()]
    headers = _HEADER_BLOCK.search(text)
    if headers and headers.start() > 0:
        text = text[: headers.start()]
    return text[:20_000]


def _address(text: str) -> str | None:
    return first_address(text) or None


def _near(text: str, address: str) -> str:
    """The lines that speak of `address`: its line and the few after it."""
    lines = text.splitlines()
    picked: list[str] = []
    for n, line in enumerate(lines):
        if address in line.lower():
            picked.extend(lines[n : n + 4])
    return " ".join(" ".join(picked).split())[:1000]


def _from_text(message: Message, explanation: str, letter_id: int | None, own: set[str]) -> list[Bounce]:
    headers = {str(message.get(h, "")) for h in ("From", "To", "Reply-To", "Return-Path", "Sender", "Cc")}
    failed = [a.strip() for a in str(message.get("X-Failed-Recipients", "")).split(",") if a.strip()]
    # X-Failed-Recipients is the report's own word: it stands even where the address is also in a header.
    exclude = own | ({a.lower() for h in headers for a in ADDRESS.findall(h)} - {a.lower() for a in failed})
    candidates = [a.lower() for a in failed] + [a.strip(".").lower() for a in ADDRESS.findall(explanation)]
    candidates += _flufl_opinion(message, explanation)
    recipients = [
        a
        for a in dict.fromkeys(candidates)
        if a not in exclude and not _NOT_RECIPIENTS.match(a) and not _in_url(explanation, a)
    ]
    near = {a: _near(explanation, a) for a in recipients}
    telling = [a for a in recipients if _FAILURE_WORDS.search(near[a])]
    chosen = telling or recipients[:1]
    found = []
    for address in chosen:
        context = near[address] if _FAILURE_WORDS.search(near[address]) else explanation[:2000]
        context = " ".join(context.split())
        verdict = classify(None, context, transcript=explanation, recipient=address)
        found.append(Bounce(address, status_in(context), "failed", verdict, context[:500], letter_id))
    return found


def _in_url(text: str, address: str) -> bool:
    """An address inside a link (mailto: aside) is no recipient."""
    index = text.lower().find(address)
    return index > 0 and bool(re.search(r"https?://\S*$", text[max(0, index - 200) : index]))


def _flufl_opinion(message: Message, explanation: str) -> list[str]:
    """flufl.bounce's detectors (Mailman's), kept to addresses the report's own text names."""
    try:
        from flufl.bounce import all_failures

        temporary, permanent = all_failures(message)
    except Exception:
        return []
    said = explanation.lower()
    found = []
    for raw in (*permanent, *temporary):
        address = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip("<>").lower()
        if address and address in said:
            found.append(address)
    return found
