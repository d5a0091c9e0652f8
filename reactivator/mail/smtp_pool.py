"""The SMTP mailer: a pool of persistent aiosmtplib connections, each reused for many letters.

TLS is never silently downgraded: with `starttls` on, a server that does not
offer STARTTLS gets nothing; `tls` is implicit TLS (port 465); certificates
are verified. The password comes from REACTIVATOR_SMTP_PASSWORD only and is
never logged. aiosmtplib's exceptions end here: callers see DeliveryError,
with what the refusal means (core.refusals), the reply code and the
enhanced status (5.1.1).
"""

from __future__ import annotations

import asyncio
import os

import aiosmtplib

from reactivator.config import SmtpSettings
from reactivator.core.ports import Outgoing
from reactivator.core.refusals import Refusal, enhanced_status, refusal_of_reply
from reactivator.errors import DeliveryError

PASSWORD_ENV = "REACTIVATOR_SMTP_PASSWORD"  # noqa: S105 (the variable's name, not a password)


def _refused(code: int, text: str, what: str, command: str) -> DeliveryError:
    status = enhanced_status(text)
    return DeliveryError(
        f"{what}: {code} {text}".strip(),
        reason=refusal_of_reply(code, status, text, command),
        code=code,
        status=status,
    )


class SmtpPool:
    """Up to `pool_size` open connections; a letter takes an idle one or opens a new one."""

    def __init__(self, settings: SmtpSettings, default_return_path: str) -> None:
        self.settings = settings
        self.default_return_path = default_return_path  # the return path when a letter names none
        self._password = os.environ.get(PASSWORD_ENV) or None
        self._slots = asyncio.Semaphore(settings.pool_size)
        self._idle: list[aiosmtplib.SMTP] = []
        self.connections_opened = 0

    @property
    def concurrency(self) -> int:
        return self.settings.pool_size

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
                reason=Refusal.TEMPORARY,
                code=exc.code,
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"cannot open a session with the mail server at {s.host}:{s.port}: {exc}",
                reason=Refusal.TEMPORARY,
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

    async def send(self, letter: Outgoing) -> None:
        """Hand one letter to the server for one recipient; DeliveryError if it is not accepted."""
        data = letter.wire()
        async with self._slots:
            client = self._idle.pop() if self._idle else await self._connect()
            try:
                return_path = letter.return_path or self.default_return_path
                await client.sendmail(return_path, [letter.recipient], data)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._reuse_after_refusal(client)
                first = exc.recipients[0]
                raise _refused(first.code, first.message, "the recipient was refused", "RCPT") from None
            except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
                await self._reuse_after_refusal(client)
                command = "MAIL" if isinstance(exc, aiosmtplib.SMTPSenderRefused) else "DATA"
                raise _refused(exc.code, exc.message, "the letter was refused", command) from None
            except (aiosmtplib.SMTPException, OSError) as exc:
                # A dropped or broken session: the letter may or may not have arrived, so
                # it is retried later; the connection is not reused.
                client.close()
                raise DeliveryError(f"the session broke off: {exc}", reason=Refusal.TEMPORARY) from exc
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
