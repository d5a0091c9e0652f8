"""Telling people from machines in opens and clicks.

Image proxies (Gmail, Yahoo) fetch every pixel, and security gateways
(Safe Links, Mimecast, Proofpoint, Barracuda) follow every link, usually
within seconds of delivery. Their hits are kept, flagged, and never count as
engagement on their own; and nothing but a purchase ever marks anyone returned.
"""

from __future__ import annotations

import re

_MACHINE_AGENTS = re.compile(
    r"googleimageproxy|ggpht\.com|yahoomailproxy|bot\b|bot/|crawler|spider|slurp|preview|"
    r"barracuda|mimecast|proofpoint|safelinks|symantec|forcepoint|trendmicro|sophos|"
    r"curl/|wget/|python-|aiohttp|go-http-client|java/|okhttp|headlesschrome|libwww|httpclient",
    re.IGNORECASE,
)
# A link followed this soon after delivery was followed by a scanner, not a reader.
SCANNER_SECONDS = 5.0


def is_machine(user_agent: str | None, method: str, seconds_since_sent: float | None) -> bool:
    """Whether an open or click came from a machine rather than a person."""
    if method.upper() == "HEAD" or not (user_agent or "").strip():
        return True
    if _MACHINE_AGENTS.search(user_agent or ""):
        return True
    return seconds_since_sent is not None and 0 <= seconds_since_sent < SCANNER_SECONDS
