"""Reading a mailbox the way mail administrators keep one: a Maildir folder, an mbox file, or one message."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path


def read_messages(source: Path) -> Iterator[bytes]:
    """Every message in a Maildir folder, an mbox file, or a single message file."""
    if source.is_dir():
        folder = mailbox.Maildir(source, factory=None, create=False)
        for key in folder.iterkeys():
            yield folder.get_bytes(key)
        return
    data = source.read_bytes()
    if data.startswith(b"From "):
        box = mailbox.mbox(source, create=False)
        try:
            for key in box.iterkeys():
                yield box.get_bytes(key)
        finally:
            box.close()
        return
    yield data
