"""What every console page shares: the app, the mailer for test letters, the clock, live listeners."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reactivator.core.ports import Mailer
from reactivator.render.check import CheckResult
from reactivator.render.composer import Composer
from reactivator.service.app import App
from reactivator.service.letters import load_letters


@dataclass
class ConsoleState:
    app: App
    mailer: Mailer
    clock: Any = field(default=lambda: datetime.now(UTC))
    listeners: set[asyncio.Queue[str]] = field(default_factory=set)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def letters(self) -> tuple[Composer, CheckResult]:
        """The current template version; load_letters re-reads the folder and reuses a checked version."""
        return load_letters(self.app, self.clock())
