"""The ports the service layer talks through; adapters implement them."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class Mailer(Protocol):
    """Hands one finished letter to a mail server (or to memory, for dry runs and tests).

    `sender` is the envelope sender (the return path), when it differs from the
    mailer's default. Raises reactivator.errors.DeliveryError; its `permanent`
    flag carries the retry decision.
    """

    async def send(self, message: EmailMessage, recipient: str, sender: str | None = None) -> None: ...

    async def close(self) -> None: ...
