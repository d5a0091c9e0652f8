"""Signed links: click tracking, the open pixel, unsubscribe and the survey.

Every token is signed with itsdangerous under its own salt, so a token made
for one purpose (an open) is worthless for another (an unsubscribe). Signing
takes a list of keys, newest first: letters are signed with the newest, and
tokens signed with any listed key still verify, so keys can be rotated
without breaking links in letters already delivered. Tokens carry no expiry:
an unsubscribe link must work years later.

A click token carries the letter and the destination itself; since nobody can
forge the signature, the redirect can only ever go where the letter pointed.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from itsdangerous import BadData, Serializer, Signer, want_bytes

from reactivator.core.routes import CLICK, OPEN, SIGNED_ROUTES, SURVEY, UNSUBSCRIBE, SignedRoute, survey_code
from reactivator.errors import InputError

# An absolute link in an <a href="..."> of rendered (escaped) HTML.
_HREF = re.compile(r'(<a\b[^>]*?\bhref=")(https?://[^"]+)(")', re.I)
# A URL in plain text, without the sentence's final punctuation.
_TEXT_URL = re.compile(r"https?://[^\s<>()\"']*[^\s<>()\"'.,;:!?]")


class _UrlSafeJson:
    """Compact JSON in unpadded base64url: what goes before the signature.

    itsdangerous' URLSafeSerializer also tries zlib on every payload, which
    costs more than the signature for payloads this small; this is the same
    format less the compression attempt.
    """

    @staticmethod
    def dumps(obj: Any) -> str:
        raw = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @staticmethod
    def loads(payload: str | bytes) -> Any:
        text = payload.decode("ascii") if isinstance(payload, bytes) else payload
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


class _KeyCachingSigner(Signer):
    """itsdangerous' Signer, deriving each (salt, key) once instead of on every signature.

    The serializer makes a new signer per token, so the cache lives on the class;
    it holds one entry per purpose and key.
    """

    _derived: ClassVar[dict[tuple[bytes, bytes], bytes]] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        raw = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        cache_key = (self.salt, raw)
        if cache_key not in self._derived:
            self._derived[cache_key] = super().derive_key(raw)
        return self._derived[cache_key]


@dataclass(frozen=True, slots=True)
class ClickToken:
    letter_id: int
    url: str


@dataclass(frozen=True, slots=True)
class CustomerToken:
    """An unsubscribe or survey token: whose letter it came in."""

    customer_id: int
    letter_id: int


class Tokens:
    """Make and read the signed token of each route with the given keys (newest first).

    The one place tokens are built and taken apart: each reader checks the
    payload's shape and raises InputError for anything it did not make.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys or any(len(k) < 16 for k in keys):
            raise InputError("signing keys must be at least 16 characters long")
        self.keys = tuple(keys)  # newest first, as given (a render process signs with the same)
        # itsdangerous signs with the last key and verifies with all of them.
        ordered = list(reversed(keys))
        self._serializers = {
            route.purpose: Serializer(
                ordered,
                salt=f"reactivator.{route.purpose}",
                serializer=_UrlSafeJson,
                signer=_KeyCachingSigner,
            )
            for route in SIGNED_ROUTES
        }

    def sign(self, purpose: str, payload: Any) -> str:
        return str(self._serializers[purpose].dumps(payload))

    def verify(self, purpose: str, token: str) -> Any:
        """The payload, or InputError for a token that is forged, truncated or for another purpose."""
        try:
            return self._serializers[purpose].loads(token)
        except (BadData, UnicodeError, ValueError) as exc:
            raise InputError(f"invalid {purpose} token") from exc

    # The routes' tokens, made and read.

    def click(self, letter_id: int, url: str) -> str:
        return self.sign(CLICK.purpose, [letter_id, url])

    def read_click(self, token: str) -> ClickToken:
        payload = self.verify(CLICK.purpose, token)
        match payload:
            case [int(letter_id), str(url)] if url.startswith(("https://", "http://")):
                return ClickToken(letter_id, url)
        raise InputError("invalid click token")

    def open(self, letter_id: int) -> str:
        return self.sign(OPEN.purpose, letter_id)

    def read_open(self, token: str) -> int:
        payload = self.verify(OPEN.purpose, token)
        if isinstance(payload, int) and not isinstance(payload, bool):
            return payload
        raise InputError("invalid open token")

    def for_customer(self, route: SignedRoute, customer_id: int, letter_id: int) -> str:
        """An unsubscribe or survey token."""
        return self.sign(route.purpose, [customer_id, letter_id])

    def read_customer(self, route: SignedRoute, token: str) -> CustomerToken:
        payload = self.verify(route.purpose, token)
        match payload:
            case [int(customer_id), int(letter_id)] if not isinstance(customer_id, bool):
                return CustomerToken(customer_id, letter_id)
        raise InputError(f"invalid {route.purpose} token")


@dataclass(frozen=True)
class LetterLinks:
    """The signed URLs of one letter."""

    tokens: Tokens
    base_url: str
    letter_id: int
    customer_id: int
    tracking: bool

    @cached_property
    def unsubscribe(self) -> str:
        token = self.tokens.for_customer(UNSUBSCRIBE, self.customer_id, self.letter_id)
        return self.base_url + UNSUBSCRIBE.path(token)

    @cached_property
    def _survey_token(self) -> str:
        return self.tokens.for_customer(SURVEY, self.customer_id, self.letter_id)

    @property
    def survey_page(self) -> str:
        """The page that lists the survey's answers (the plain-text letter links there once)."""
        return self.base_url + f"/{SURVEY.prefix}/{self._survey_token}"

    def survey(self, reason: str) -> str:
        """One signed token per letter; the reason follows it and is checked against the configured list."""
        return self.base_url + SURVEY.path(self._survey_token, reason=survey_code(reason))

    @property
    def open_pixel(self) -> str:
        return self.base_url + OPEN.path(self.tokens.open(self.letter_id))

    @cached_property
    def _clicks(self) -> dict[str, str]:
        return {}

    def click(self, url: str) -> str:
        """The click URL for `url` (the HTML and text parts share it)."""
        if url not in self._clicks:
            self._clicks[url] = self.base_url + CLICK.path(self.tokens.click(self.letter_id, url))
        return self._clicks[url]

    def _trackable(self, url: str) -> bool:
        return self.tracking and not url.startswith(self.base_url + "/")

    def track_html(self, body: str) -> str:
        """Route every absolute link through a click URL and add the open pixel."""
        if not self.tracking:
            return body

        def swap(m: re.Match[str]) -> str:
            url = html.unescape(m.group(2))
            if not self._trackable(url):
                return m.group(0)
            return m.group(1) + html.escape(self.click(url)) + m.group(3)

        body = _HREF.sub(swap, body)
        pixel = (
            f'<img src="{html.escape(self.open_pixel)}" width="1" height="1" alt="" '
            'style="display:block;border:0;width:1px;height:1px">'
        )
        at = body.rfind("</body>")
        return body[:at] + pixel + body[at:] if at >= 0 else body + pixel

    def track_text(self, body: str) -> str:
        """Route the plain-text part's links through click URLs too (no pixel there)."""
        if not self.tracking:
            return body
        return _TEXT_URL.sub(
            lambda m: self.click(m.group(0)) if self._trackable(m.group(0)) else m.group(0), body
        )
