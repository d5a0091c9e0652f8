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
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

# RFC 5322 allows 998 characters per line; SMTP policy folds headers at 78 and
# ends lines with CRLF, as on the wire.
WIRE_POLICY = policy.SMTP.clone(max_line_length=78)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


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
    mailto = f"mailto:{envelope.unsubscribe_mailto}?subject=unsubscribe"
    msg["List-Unsubscribe"] = f"<{envelope.unsubscribe_url}>, <{mailto}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["MIME-Version"] = "1.0"
    msg.set_content(text, subtype="plain", charset="utf-8", cte=_body_encoding(text))
    msg.add_alternative(html, subtype="html", charset="utf-8", cte=_body_encoding(html))
    return msg
