"""An in-memory mailer: the send path's twin for dry runs, previews and fast tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage

from reactivator.errors import DeliveryError


@dataclass
class MemoryMailer:
    """Keeps every letter it is handed; can be told to refuse chosen recipients.

    With keep=False it only counts, so a run over a million letters stays small.
    """

    sent: list[tuple[str, EmailMessage]] = field(default_factory=list)
    refuse: dict[str, DeliveryError] = field(default_factory=dict)
    keep: bool = True
    handed_over: int = 0
    closed: bool = False

    async def send(self, message: EmailMessage, recipient: str, sender: str | None = None) -> None:
        error = self.refuse.get(recipient)
        if error is not None:
            raise error
        self.handed_over += 1
        if self.keep:
            self.sent.append((recipient, message))

    async def close(self) -> None:
        self.closed = True

    def recipients(self) -> list[str]:
        return [r for r, _ in self.sent]
