"""What one send run did with the letters it claimed, counted by outcome."""

from __future__ import annotations

import functools
import os
import secrets
import socket
from dataclasses import dataclass, fields

from reactivator.core.delivery import OutcomeKind


@dataclass
class SendReport:
    sent: int = 0
    cancelled: int = 0
    failed: int = 0
    bounced: int = 0
    expired: int = 0
    deferred: int = 0
    lease_lost: int = 0

    def count(self, outcome: OutcomeKind) -> None:
        # The fields are named after the outcomes (a test holds the two lists equal).
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def add(self, other: SendReport) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def by_outcome(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def letters(self) -> int:
        """Letters this run dealt with, whatever became of them."""
        return sum(self.by_outcome().values())


@functools.cache
def worker_name() -> str:
    """This process's name in the ledger (letters.leased_by): host, pid and a random tag.

    The tag keeps two processes apart that share host name and pid (containers: pid 1).
    """
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
