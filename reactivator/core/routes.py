"""The signed routes that letters link to: one list, read by the links, the endpoints and the logs.

Each route's token is signed for its own purpose (render/links.py), so a token
made for an open is worthless on the unsubscribe route.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SignedRoute:
    purpose: str  # the token's signing purpose (its salt)
    prefix: str  # the path's first segment
    suffix: str = ""  # after the token: ".gif" for the pixel, "/{reason}" for a survey answer

    @property
    def pattern(self) -> str:
        """The route as the web server matches it."""
        return f"/{self.prefix}/{{token}}{self.suffix}"

    def path(self, token: str, **parts: str) -> str:
        """The path of this route for `token` (and the suffix's parts, such as the reason)."""
        return f"/{self.prefix}/{token}{self.suffix.format(**parts)}"


CLICK = SignedRoute("click", "c")
OPEN = SignedRoute("open", "o", ".gif")
UNSUBSCRIBE = SignedRoute("unsubscribe", "u")
SURVEY = SignedRoute("survey", "s", "/{reason}")

SIGNED_ROUTES = (CLICK, OPEN, UNSUBSCRIBE, SURVEY)


def survey_code(reason: str) -> str:
    """The digits a survey link carries for `reason`: stable across config edits (a checksum of the
    name, not its place in the list), and no words in the URL for spam filters to count."""
    return str(zlib.crc32(reason.encode()) % 1_000_000).zfill(6)


def survey_reason(given: str, reasons: tuple[str, ...] | list[str]) -> str | None:
    """The configured reason a link names, by its code (or by name, as the first letters did)."""
    for reason in reasons:
        if given in (reason, survey_code(reason)):
            return reason
    return None
