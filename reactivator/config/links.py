"""Whether the letters' links can reach their readers: a real relay with links to this machine
would deliver letters whose unsubscribe links lead nowhere."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from reactivator.config.settings import Settings

_LOCAL_NAMES = ("localhost", "localhost.localdomain")


def is_local_host(host: str) -> bool:
    """Loopback, private, link-local or unspecified: no one outside this network reaches it."""
    name = host.strip("[]").lower()
    if name in _LOCAL_NAMES or name.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False  # a name: `reactivator doctor` resolves it
    return address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified


def relay_is_real(settings: Settings) -> bool:
    """Letters leave this machine: the SMTP server is not a local capture or test server."""
    return not is_local_host(settings.smtp.host)


def links_problem(settings: Settings) -> str | None:
    """Why letters must not go out with these links, or None."""
    host = urlsplit(settings.web.base_url).hostname or ""
    if relay_is_real(settings) and is_local_host(host):
        return (
            f"web.base_url = {settings.web.base_url!r} is an address on this machine or network, but letters "
            f"go to the real relay {settings.smtp.host}: their unsubscribe and tracking links would lead "
            "nowhere. Set [web] base_url to the public https:// address of reactivator's endpoints "
            "(`reactivator doctor` checks it)"
        )
    return None
