"""The MIME message of a letter, built with the stdlib `email` package.

multipart/alternative with the plain text first and the HTML last (clients
show the last part they understand), UTF-8 throughout, RFC 2047 encoded
headers for Cyrillic names and subjects, and RFC 8058 one-click unsubscribe
headers. Every value that reaches a header is squeezed onto one line first,
so a customer's name can never add a header of its own.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Headers holding URLs that receivers parse literally: folding them into RFC 2047
# encoded words (what the stdlib does with a long unbreakable token) would break them.
_LITERAL_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
MAX_LINE = 998  # RFC 5322: no line longer than this, ever
_HEADER_WIDTH = 78


class WirePolicy(EmailPolicy):
    """SMTP's CRLF policy, folding at 78, but never encoding a literal URL header."""

    def _literal(self, name: str, value: Any) -> str | None:
        if name.lower() not in _LITERAL_HEADERS:
            return None
        text = f"{name}: {value}"
        if not text.isascii() or len(text) > MAX_LINE:
            raise ValueError(f"{name} must be ASCII and under {MAX_LINE} characters")
        return text + self.linesep

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        # The generator reads each part's Content-Type several times, and parsing it
        # through the header registry every time cost more than rendering the letter;
        # the parts' headers are the same in every letter, so their parse is kept.
        if name.lower() in _MEMO_HEADERS and isinstance(value, str) and not hasattr(value, "name"):
            return _parsed_header(name, value)
        return super().header_fetch_parse(name, value)

    def fold(self, name: str, value: Any) -> str:
        return self._literal(name, value) or super().fold(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        literal = self._literal(name, value)
        return literal.encode("ascii") if literal else super().fold_binary(name, value)


WIRE_POLICY = WirePolicy(linesep="\r\n", max_line_length=78)
BOUNDARY = "=_reactivator_alternative"
_MEMO_HEADERS = frozenset({"content-type", "content-transfer-encoding"})


@lru_cache(maxsize=64)
def _parsed_header(name: str, value: str) -> Any:
    # Keyed without the policy: the generator works on clones of it (per line ending),
    # and a parsed header does not depend on the line ending.
    return EmailPolicy.header_fetch_parse(WIRE_POLICY, name, value)


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
    # Gmail's feedback loop reports complaint rates per value of this header
    # ("step:campaign:kind:sender id"), so a bad letter shows up on its own.
    feedback_id: str = ""


def _encoded_part(body: str, subtype: str) -> MIMEPart:
    """A UTF-8 text part, its body encoded by the C codecs in binascii.

    The stdlib's own set_content encodes quoted-printable in pure Python, which
    costs more than rendering the letter; binascii gives the same RFC 2045
    output (76-character lines, soft breaks) many times faster. Mostly-ASCII
    bodies (English) stay readable and compact as quoted-printable;
    mostly-Cyrillic ones are far smaller as base64 (QP triples each byte).
    """
    data = body.replace("\r\n", "\n").encode("utf-8")
    extra_bytes = len(data) - len(body)  # each non-ASCII character adds at least one
    if extra_bytes * 4 > len(body):
        cte, payload = "base64", base64.encodebytes(data).decode("ascii")
    else:
        cte = "quoted-printable"
        payload = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False).decode("ascii")
    part = MIMEPart(policy=WIRE_POLICY)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", cte)
    part.set_payload(payload)
    return part


def encoded_subject(subject: str) -> str:
    """The Subject value, RFC 2047 encoded where needed and folded to 78 columns.

    email.header.Header keeps each space inside the encoded words; the newer
    header registry (Python 3.11) may put the space between two encoded words
    as folding whitespace, where decoders drop it ("снова Вас" arrives as
    "сноваВас").
    """
    text = one_line(subject)
    # ASCII that looks like an encoded word ("=?utf-8?b?...?=", from a customer's name) is
    # encoded itself, or mail clients would decode it into whatever it hides.
    charset = "us-ascii" if text.isascii() and "=?" not in text else "utf-8"
    return Header(text, charset, maxlinelen=78, header_name="Subject").encode(linesep="\r\n")


def mailbox(header: str, name: str, address: str) -> str:
    """`Name <address>` as one header line; just the address when the name would need folding.

    A name that fits is one RFC 2047 encoded word (or a quoted string); a longer
    one would have to be split into several encoded words, which clients join
    inconsistently, so it is left out rather than garbled.
    """
    name = one_line(name)
    if "=?" in name:  # looks like an encoded word: encode it, so that clients show it as written
        formatted = f"{Header(name, 'utf-8').encode()} <{address}>"
    else:
        formatted = formataddr((name, address), charset="utf-8")
    return formatted if len(header) + 2 + len(formatted) <= _HEADER_WIDTH else address


def build_message(envelope: Envelope, subject: str, text: str, html: str, date: datetime) -> EmailMessage:
    """The finished message: headers, then text and HTML alternatives."""
    msg = EmailMessage(policy=WIRE_POLICY)
    # Every value is either ASCII we made ourselves or encoded above, so it is
    # stored as is: no customer text can reach a header unencoded or add a line.
    msg.set_raw("From", mailbox("From", envelope.from_name, envelope.from_email))
    msg.set_raw("To", mailbox("To", envelope.to_name, envelope.to_email))
    msg.set_raw("Subject", encoded_subject(subject))
    msg.set_raw("Reply-To", one_line(envelope.reply_to))
    msg.set_raw("Date", format_datetime(date))
    msg.set_raw("Message-ID", one_line(envelope.message_id))
    unsubscribe = f"<{one_line(envelope.unsubscribe_url)}>, <mailto:{one_line(envelope.unsubscribe_mailto)}>"
    msg.set_raw("List-Unsubscribe", unsubscribe)
    msg.set_raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    if envelope.feedback_id:
        msg.set_raw("Feedback-ID", one_line(envelope.feedback_id))
    msg.set_raw("MIME-Version", "1.0")
    # "=_" cannot occur in quoted-printable or base64 bodies, so this boundary never
    # collides with a part, and being constant its header parses once per process.
    msg.set_raw("Content-Type", f'multipart/alternative; boundary="{BOUNDARY}"')
    msg.set_payload([_encoded_part(text, "plain"), _encoded_part(html, "html")])
    return msg
