"""An in-memory mailer: the send path's twin for dry runs, previews and fast tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from reactivator.core.ports import Outgoing
from reactivator.core.refusals import Refusal
from reactivator.errors import DeliveryError


@dataclass
class MemoryMailer:
    """Keeps every letter it is handed; can be told to refuse chosen recipients.

    With keep=False it only counts, so a run over a million letters stays small.
    """

    letters: list[Outgoing] = field(default_factory=list)
    refuse: dict[str, DeliveryError] = field(default_factory=dict)
    keep: bool = True
    concurrency: int = 8
    reachable: bool = True  # what `probe` answers
    handed_over: int = 0
    closed: bool = False

    async def send(self, letter: Outgoing) -> None:
        error = self.refuse.get(letter.recipient)
        if error is not None:
            raise error
        self.handed_over += 1
        if self.keep:
            self.letters.append(letter)

    async def probe(self) -> None:
        if not self.reachable:
            raise DeliveryError("the in-memory mailer was told to be unreachable", reason=Refusal.TEMPORARY)

    async def close(self) -> None:
        self.closed = True

    @property
    def sent(self) -> list[tuple[str, EmailMessage]]:
        """(recipient, message) of every letter kept (parsed from its bytes if it came as bytes)."""
        return [(letter.recipient, letter.message or _parsed(letter.wire())) for letter in self.letters]

    def recipients(self) -> list[str]:
        return [letter.recipient for letter in self.letters]


def _parsed(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message
