"""The MIME message of a letter, built with the stdlib `email` package.

multipart/alternative with the plain text first and the HTML last (clients
show the last part they understand), UTF-8 throughout, RFC 2047 encoded
headers for Cyrillic names and subjects, and RFC 8058 one-click unsubscribe
headers. Every value that reaches a header is squeezed onto one line first,
so a customer's name can never add a header of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Headers holding URLs that receivers parse literally: folding them into RFC 2047
# encoded words (what the stdlib does with a long unbreakable token) would break them.
_LITERAL_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
MAX_LINE = 998  # RFC 5322: no line longer than this, ever


class WirePolicy(EmailPolicy):
    """SMTP's CRLF policy, folding at 78, but never encoding a literal URL header."""

    def _literal(self, name: str, value: Any) -> str | None:
        if name.lower() not in _LITERAL_HEADERS:
            return None
        text = f"{name}: {value}"
        if not text.isascii() or len(text) > MAX_LINE:
            raise ValueError(f"{name} must be ASCII and under {MAX_LINE} characters")
        return text + self.linesep

    def fold(self, name: str, value: Any) -> str:
        return self._literal(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        literal = self._literal(name, value)
        return literal.encode("ascii") if literal else super().fold_binary(name, value)


WIRE_POLICY = WirePolicy(linesep="\r\n", max_line_length=78)


def one_line(value: str) -> str:
    """A header-safe version of `value`: control characters (CR, LF, tabs) become spaces."""
    return " ".join(_CONTROL.sub(" ", value).split())


@dataclass(frozen=True, slots=True)
class Envelope:
    """Who a letter is from and to, and how to get off the list."""

    from_name: str
    from_email: str
    reply_to: str
    to_email: str
    to_name: str
    message_id: str
    unsubscribe_url: str
    unsubscribe_mailto: str


def _body_encoding(body: str) -> str:
    # Mostly-ASCII bodies (English) stay readable and compact as quoted-printable;
    # mostly-Cyrillic ones are a third the size as base64 (QP triples every byte).
    non_ascii = sum(1 for ch in body if ord(ch) > 127)
    return "base64" if non_ascii * 4 > len(body) else "quoted-printable"


def build_message(envelope: Envelope, subject: str, text: str, html: str, date: datetime) -> EmailMessage:
    """The finished message: headers, then text and HTML alternatives."""
    msg = EmailMessage(policy=WIRE_POLICY)
    msg["From"] = Address(display_name=one_line(envelope.from_name), addr_spec=envelope.from_email)
    msg["To"] = Address(display_name=one_line(envelope.to_name), addr_spec=envelope.to_email)
    msg["Reply-To"] = envelope.reply_to
    msg["Subject"] = one_line(subject)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = envelope.message_id
    msg["List-Unsubscribe"] = f"<{envelope.unsubscribe_url}>, <mailto:{envelope.unsubscribe_mailto}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, subtype="plain", charset="utf-8", cte=_body_encoding(text))
    msg.add_alternative(html, subtype="html", charset="utf-8", cte=_body_encoding(html))
    return msg
