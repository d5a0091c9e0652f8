"""One daemon per SQLite file: an exclusive lock on a file beside the database.

SQLite has one writer at a time and no SKIP LOCKED, so a fleet needs
PostgreSQL. The lock is the operating system's (flock): it is released when
the process ends, however it ends, so a crashed daemon never blocks the next.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from reactivator.errors import AlreadyRunningError


class DaemonLock:
    """Held for the daemon's lifetime; a no-op off SQLite (PostgreSQL welcomes a fleet)."""

    def __init__(self, sqlite_path: str | None, holder: str) -> None:
        on_disk = bool(sqlite_path) and sqlite_path != ":memory:"
        self.database = sqlite_path or ""
        self.path = Path(f"{sqlite_path}.daemon.lock") if on_disk else None
        self.holder = holder
        self._fd: int | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                other = os.read(fd, 200).decode(errors="replace").strip() or "pid unknown"
                os.close(fd)
                raise AlreadyRunningError(self.database, other) from None
            # The daemon before us removes its lock file as it stops: a lock taken on the file it
            # removed guards nothing, so take it again on the file that is there now.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, self.holder.encode())
        self._fd = fd

    def release(self) -> None:
        """Unlock, and remove the lock file (while still holding it) so that none is left behind."""
        if self._fd is not None:
            if self.path is not None:
                self.path.unlink(missing_ok=True)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
