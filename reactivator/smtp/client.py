"""The SMTP mailer: hands finished letters to a mail server with aiosmtplib.

aiosmtplib's exceptions end here: callers see DeliveryError, whose
`permanent` flag says whether a retry can help (5xx: no; 4xx, timeouts and
dropped connections: yes).
"""

from __future__ import annotations

import os
from email.message import EmailMessage

import aiosmtplib

from reactivator.config import SmtpSettings
from reactivator.errors import DeliveryError

PASSWORD_ENV = "REACTIVATOR_SMTP_PASSWORD"  # noqa: S105 (the variable's name, not a password)


class SmtpMailer:
    """One connection per letter; enough for test sends and small runs."""

    def __init__(self, settings: SmtpSettings, sender: str) -> None:
        self.settings = settings
        self.sender = sender
        self.password = os.environ.get(PASSWORD_ENV) or None

    async def send(self, message: EmailMessage, recipient: str) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                message,
                sender=self.sender,
                recipients=[recipient],
                hostname=s.host,
                port=s.port,
                username=s.username or None,
                password=self.password if s.username else None,
                use_tls=s.tls,
                start_tls=s.starttls,
                timeout=s.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [e.code for e in exc.recipients]
            code = codes[0] if codes else None
            raise DeliveryError(f"{recipient} refused: {exc}", permanent=_permanent(code), code=code) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"the server said {exc.code} {exc.message}", permanent=_permanent(exc.code), code=exc.code
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"cannot reach the mail server at {s.host}:{s.port}: {exc}", permanent=False
            ) from exc

    async def close(self) -> None:
        return None


def _permanent(code: int | None) -> bool:
    return code is not None and 500 <= code < 600
