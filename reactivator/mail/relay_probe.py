"""What the relay offers before any letter: does it speak TLS (STARTTLS or implicit TLS)?"""

from __future__ import annotations

from dataclasses import dataclass

import aiosmtplib

from reactivator.config.delivery import SmtpSettings


@dataclass(frozen=True)
class RelayOffer:
    reachable: bool
    starttls: bool  # advertised in the EHLO reply
    implicit_tls: bool  # the session itself is TLS (port 465)
    banner: str
    error: str = ""


async def probe_relay(smtp: SmtpSettings) -> RelayOffer:
    """Connect, say EHLO, and note what the relay offers; never send anything."""
    client = aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        use_tls=smtp.tls,
        start_tls=False,
        timeout=min(smtp.timeout_seconds, 15.0),
    )
    try:
        response = await client.connect()
        await client.ehlo()
        offer = RelayOffer(True, client.supports_extension("starttls"), smtp.tls, response.message[:200])
    except (aiosmtplib.SMTPException, OSError) as exc:
        return RelayOffer(False, False, smtp.tls, "", f"{exc.__class__.__name__}: {exc}"[:300])
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
    return offer
