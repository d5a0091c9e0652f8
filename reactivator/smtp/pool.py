"""The SMTP mailer: a pool of persistent aiosmtplib connections, each reused for many letters.

TLS is never silently downgraded: with `starttls` on, a server that does not
offer STARTTLS gets nothing; `tls` is implicit TLS (port 465); certificates
are verified. The password comes from REACTIVATOR_SMTP_PASSWORD only and is
never logged. aiosmtplib's exceptions end here: callers see DeliveryError,
with the reply code, the enhanced status (5.1.1) and whether retrying can help.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from email.message import EmailMessage

import aiosmtplib

from reactivator.config import SmtpSettings
from reactivator.errors import DeliveryError

PASSWORD_ENV = "REACTIVATOR_SMTP_PASSWORD"  # noqa: S105 (the variable's name, not a password)
_ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


def enhanced_status(text: str) -> str | None:
    """The RFC 3463 status at the start of a reply text ("5.1.1 no such user" -> "5.1.1")."""
    match = _ENHANCED.match(text)
    return match.group(1) if match else None


def _refused(code: int, text: str, what: str) -> DeliveryError:
    status = enhanced_status(text)
    permanent = 500 <= code < 600
    return DeliveryError(f"{what}: {code} {text}".strip(), permanent=permanent, code=code, status=status)


class SmtpPool:
    """Up to `pool_size` open connections; a letter takes an idle one or opens a new one."""

    def __init__(
        self, settings: SmtpSettings, sender: str, sign: Callable[[bytes], bytes] | None = None
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.sign = sign
        self._password = os.environ.get(PASSWORD_ENV) or None
        self._slots = asyncio.Semaphore(settings.pool_size)
        self._idle: list[aiosmtplib.SMTP] = []
        self.connections_opened = 0

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.tls or (s.port == 465 and not s.starttls),  # 465 is implicit TLS by definition
            start_tls=s.starttls,
            validate_certs=True,
            timeout=s.timeout_seconds,
        )
        try:
            await client.connect()
            if s.username:
                await client.login(s.username, self._password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"the mail server at {s.host}:{s.port} refused the login of {s.username!r} "
                f"({exc.code}); check {PASSWORD_ENV}",
                permanent=False,
                code=exc.code,
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"cannot open a session with the mail server at {s.host}:{s.port}: {exc}", permanent=False
            ) from exc
        self.connections_opened += 1
        return client

    async def probe(self) -> None:
        """Open a session and say goodbye (readiness); DeliveryError if the server is not there."""
        client = await self._connect()
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    async def send(self, message: EmailMessage, recipient: str, sender: str | None = None) -> None:
        """Hand one letter to the server for one recipient; DeliveryError if it is not accepted."""
        data = message.as_bytes()
        if self.sign is not None:
            data = self.sign(data)
        async with self._slots:
            client = self._idle.pop() if self._idle else await self._connect()
            try:
                await client.sendmail(sender or self.sender, [recipient], data)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._reuse_after_refusal(client)
                first = exc.recipients[0]
                raise _refused(first.code, first.message, "the recipient was refused") from None
            except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
                await self._reuse_after_refusal(client)
                raise _refused(exc.code, exc.message, "the letter was refused") from None
            except (aiosmtplib.SMTPException, OSError) as exc:
                # A dropped or broken session: the letter may or may not have arrived, so
                # it is retried later; the connection is not reused.
                client.close()
                raise DeliveryError(f"the session broke off: {exc}", permanent=False) from exc
            self._idle.append(client)

    async def _reuse_after_refusal(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
        else:
            self._idle.append(client)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
