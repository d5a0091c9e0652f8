"""Mail people send back: replies to a letter, mails to the unsubscribe address, auto-replies.

A reply is matched to our letter by In-Reply-To/References (RFC 5322) holding one
of our Message-IDs; an automatic answer (RFC 3834 `Auto-Submitted`, and the
out-of-office conventions that predate it) is never taken for a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message

from inscriptis import get_text

from reactivator.feedback.headers import ADDRESS, decoded

# Our letters' Message-IDs: <20 hex digits.letter id@domain> (db/passes.py).
_OUR_ID = re.compile(r"<[0-9a-f]{6,}\.(\d+)@[^>]+>", re.IGNORECASE)
_AUTO_SUBJECT = re.compile(
    r"^(?:auto(?:matic)?[- ]?(?:reply|response|antwort)|out of (?:the )?office|abwesenheit|"
    r"absence|vacation|on leave|автоответ|автоматический ответ|нет на месте|отпуск)",
    re.IGNORECASE,
)
# "On Mon, 1 Dec 2026, Shop <news@shop> wrote:" and its translations: the quoted letter starts there.
_QUOTE_HEADER = re.compile(
    r"^(?:On .{0,200} wrote:|Am .{0,200} schrieb .{0,200}:|Le .{0,200} a écrit ?:|"
    r".{0,200} пишет:|.{0,200} написал(?:а)?:|-{2,} ?(?:Original Message|Исходное сообщение) ?-{2,}|"
    r"From: .{0,200}$)",
    re.MULTILINE,
)
_TOKEN = re.compile(r"unsubscribe\s+([A-Za-z0-9_.~-]{16,})", re.IGNORECASE)


@dataclass(frozen=True)
class PersonalMail:
    """A message that is neither a bounce nor a complaint, as the intake needs it."""

    sender: str  # the From address, lower-cased
    subject: str
    letter_id: int | None  # the letter it answers, by In-Reply-To/References
    automatic: bool  # an auto-reply: changes nothing
    unsubscribe: bool  # sent to our unsubscribe address, or says "unsubscribe <token>"
    token: str  # the unsubscribe token, when the subject or body carries one
    text: str  # the person's own words (the quoted letter cut off)


def is_automatic(message: Message) -> bool:
    """An auto-reply or other machine-sent answer (RFC 3834 and older conventions)."""
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return True
    if any(message.get(h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress-Reply")):
        return True
    if str(message.get("Precedence", "")).strip().lower() in ("auto_reply", "bulk", "junk", "list"):
        return True
    if str(message.get("X-Auto-Response-Suppress", "")).lower() in ("all", "oof"):
        return True
    return bool(_AUTO_SUBJECT.search(decoded(message.get("Subject")).strip()))


def answered_letter(message: Message) -> int | None:
    """Our letter this message answers, from In-Reply-To, else the newest of References."""
    for header in ("In-Reply-To", "References"):
        ids = _OUR_ID.findall(str(message.get(header, "")))
        if ids:
            return int(ids[-1])
    return None


def personal_mail(message: Message, unsubscribe_addresses: Iterable[str]) -> PersonalMail:
    subject = " ".join(decoded(message.get("Subject")).split())
    senders = ADDRESS.findall(str(message.get("From", "")))
    addressed = " ".join(
        str(message.get(h, "")) for h in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
    ).lower()
    text = own_words(message)
    token = _TOKEN.search(subject) or _TOKEN.search(text[:2000])
    to_unsubscribe = any(a and a.lower() in addressed for a in unsubscribe_addresses)
    return PersonalMail(
        sender=senders[0].lower() if senders else "",
        subject=subject[:500],
        letter_id=answered_letter(message),
        automatic=is_automatic(message),
        unsubscribe=to_unsubscribe or bool(token and subject.lower().startswith("unsubscribe")),
        token=token.group(1) if token else "",
        text=text,
    )


def own_words(message: Message) -> str:
    """The message's text, without the letter it quotes (for people to read, up to 20,000 characters)."""
    text = ""
    for part in message.walk():
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html") or part.get_filename():
            continue
        raw = part.get_payload(decode=True)
        if not isinstance(raw, bytes):
            continue
        try:
            body = raw.decode(part.get_content_charset() or "utf-8", "replace")
        except LookupError:
            body = raw.decode("utf-8", "replace")
        text = get_text(body) if kind == "text/html" else body
        if kind == "text/plain":
            break
    quote = _QUOTE_HEADER.search(text)
    if quote:
        text = text[: quote.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()[:20_000]
