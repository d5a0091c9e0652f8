"""The ports the service layer talks through; adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One finished letter for one recipient, as a transport hands it over.

    `data` is the letter's bytes on the wire when they were made elsewhere (a
    render process, or a DKIM wrapper); otherwise they are the message's own bytes.
    A letter built in a render process arrives as bytes only (`message` None).
    """

    message: EmailMessage | None
    recipient: str
    return_path: str | None = None  # the envelope sender, when not the mailer's default
    data: bytes | None = None

    def wire(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.message is not None, "a letter needs its message or its bytes"
        return self.message.as_bytes()


class Mailer(Protocol):
    """Hands finished letters to a mail server, an ESP, or memory (dry runs and tests).

    `send` raises reactivator.errors.DeliveryError, whose `reason` (a core Refusal)
    says what the refusal means; `probe` raises it when the transport cannot be
    reached. `concurrency` is how many letters it takes at once.
    """

    @property
    def concurrency(self) -> int: ...

    async def send(self, letter: Outgoing) -> None: ...

    async def probe(self) -> None: ...

    async def close(self) -> None: ...
