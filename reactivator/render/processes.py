"""Letters built in render processes, while the sending process talks to the database and the server.

Building a letter (templates, links, MIME, its bytes) is about half of the
CPU a letter costs, and a Python process runs one thread at a time: on a
machine with more than one core, render processes build the letters in
parallel with the sending process, which only checks, sends and records.

A render process holds the same settings and signing keys and, for each
template version it is asked for, the same checked templates (their sources
and which steps are inlined per letter), so its bytes are those the sending
process would have built. A version it does not hold yet (a marketer saved a
template and the daemon moved to it) starts a new set of processes; the old
ones finish what they hold. If the processes stop working, letters are built
in the sending process again, as without them.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reactivator.config import Settings
from reactivator.core.records import Letter
from reactivator.render.catalog import Catalog
from reactivator.render.composer import Composer
from reactivator.render.links import Tokens

log = logging.getLogger("reactivator.delivery")

MAX_AUTO = 4
# Template versions a set of processes is started with: a daemon sends from the newest
# and from those its kept steps still use; beyond this many, the first shipped is dropped.
KEEP_VERSIONS = 8


def auto_processes(configured: int | None) -> int:
    """How many render processes: as configured, or one less than the cores (up to MAX_AUTO)."""
    if configured is not None:
        return configured
    return max(0, min((os.cpu_count() or 1) - 1, MAX_AUTO))


@dataclass(frozen=True)
class _Version:
    """What a render process needs to build letters from one checked template version."""

    folder: Path
    sources: dict[str, str]
    per_letter: frozenset[tuple[str, str]]


# A render process's own state, set when it starts.
_settings: Settings | None = None
_tokens: Tokens | None = None
_versions: dict[str, _Version] = {}
_composers: dict[str, Composer] = {}


def _start(settings: Settings, keys: tuple[str, ...], versions: dict[str, _Version]) -> None:
    global _settings, _tokens
    _settings, _tokens = settings, Tokens(keys)
    _versions.update(versions)
    # A stop is the sending process's to handle (Ctrl+C, a service manager's SIGTERM go to
    # the whole group): it lets the letters in flight finish, and this process ends with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, name="reactivator-render-watch", daemon=True).start()


def _exit_with_parent() -> None:
    """End this render process when the sending process is gone (killed with -9, say).

    Nothing else would: a render process waits for work on a queue, and an orphan would
    live on holding the sender's output pipes open.
    """
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)


def _composer(version: str) -> Composer:
    composer = _composers.get(version)
    if composer is None:
        assert _settings is not None
        assert _tokens is not None
        shipped = _versions[version]
        catalog = Catalog(shipped.folder, shipped.sources)
        catalog.per_letter.update(shipped.per_letter)
        composer = _composers[version] = Composer(_settings, catalog, _tokens)
    return composer


def _ready(version: str) -> None:
    """In a render process: load a version's templates before the first letter needs them."""
    _composer(version)


def _build(version: str, letter: Letter, now: datetime, locale: str) -> bytes | str:
    """In a render process: the letter's bytes, or why it could not be built.

    A version that cannot be loaded here raises: the sending process builds the letter itself.
    """
    composer = _composer(version)
    try:
        return composer.compose(letter, now, locale=locale).message.as_bytes()
    except Exception as exc:  # reported as the letter's failure, as when built in the sending process
        return f"could not build the letter: {exc}"


class RenderProcesses:
    """A set of render processes for one sending process (a send run, or a daemon's send loop)."""

    def __init__(self, settings: Settings, tokens: Tokens, processes: int) -> None:
        self.settings = settings
        self.keys = tokens.keys
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._shipped: dict[str, _Version] = {}
        self.broken = False

    def warm(self, composer: Composer) -> None:
        """Start the processes and load the templates now (while the pass runs), not at the first letter."""
        try:
            pool = self._pool_for(composer)
            for _ in range(self.processes):
                pool.submit(_ready, composer.catalog.version).add_done_callback(_quiet)
        except OSError as exc:  # no process could start (a limit of the machine): build them here
            log.warning("render processes could not start (%s); letters are built here", exc)
            self.broken = True

    async def build(
        self, composer: Composer, letter: Letter, now: datetime, locale: str
    ) -> bytes | str | None:
        """The letter's bytes, why it could not be built, or None: build it here (the processes stopped)."""
        if self.broken:
            return None
        try:
            pool = self._pool_for(composer)
            return await asyncio.wrap_future(
                pool.submit(_build, composer.catalog.version, letter, now, locale)
            )
        except Exception as exc:  # a process died or could not start, or a version did not load
            if not self.broken:
                log.warning("the render processes stopped (%s); letters are built here from now on", exc)
            self.broken = True
            return None

    def _pool_for(self, composer: Composer) -> ProcessPoolExecutor:
        version = composer.catalog.version
        if self._pool is None or version not in self._shipped:
            self._shipped[version] = _Version(
                composer.catalog.folder,
                dict(composer.catalog.sources),
                frozenset(composer.catalog.per_letter),
            )
            while len(self._shipped) > KEEP_VERSIONS:  # the first shipped (one still in use comes back)
                self._shipped.pop(next(iter(self._shipped)))
            if self._pool is not None:
                self._pool.shutdown(wait=False)  # its processes finish the letters they hold
            # Spawned, not forked: the sending process holds threads, sockets and database connections.
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(self.settings, self.keys, dict(self._shipped)),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _quiet(future: Future[None]) -> None:
    # A warm-up that failed shows again, and is handled, when the first letter is built.
    if not future.cancelled():
        future.exception()
