"""Templates while the daemon runs: watch the folder, reload into new versions, alert on broken steps."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from watchfiles import awatch

from reactivator.service.template_versions import TemplateVersions

log = logging.getLogger("reactivator.daemon")


class TemplateWatcher:
    """Keeps `versions` current with the folder; `after_reload` is told after every reload."""

    def __init__(
        self, versions: TemplateVersions, clock: Callable[[], datetime], after_reload: Callable[[], Any]
    ) -> None:
        self.versions = versions
        self.clock = clock
        self.after_reload = after_reload  # a coroutine function (the heartbeat's write)
        self._reloading = asyncio.Lock()

    @property
    def busy(self) -> bool:
        return self._reloading.locked()

    def alerts(self) -> list[str]:
        return self.versions.alerts()

    def log_alerts(self) -> None:
        for alert in self.alerts():
            log.error("ALERT: template not used: %s", alert)

    async def watch(self) -> None:
        """Reload on every change the file system reports (runs until cancelled)."""
        async for _changes in awatch(self.versions.folder, debounce=300, step=50, recursive=True):
            await self.reload()

    async def changed(self) -> bool:
        """Whether the folder changed since it was last read (catches saves the watcher missed)."""
        try:
            return await asyncio.to_thread(self.versions.stale)
        except Exception:
            return True  # unreadable now: the reload says why, and keeps the last good versions

    async def reload(self) -> None:
        """Read the folder again: steps that pass move on, the others keep their last good version."""
        async with self._reloading:
            try:
                result = await asyncio.to_thread(self.versions.reload, self.clock())
            except Exception as exc:  # whatever a saved file does, the daemon keeps sending
                log.error("ALERT: the templates could not be read (%s); the last good versions stay", exc)
                return
        if result.moved:
            moved = sorted(f"{locale}/{step}" for locale, step in result.moved)
            log.info("templates reloaded", extra={"version": result.version, "steps": moved})
        self.log_alerts()
        await self.after_reload()
