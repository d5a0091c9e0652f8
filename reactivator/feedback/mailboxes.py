"""Reading a mailbox the way mail administrators keep one: a Maildir folder, an mbox file, one
message file, or a folder on an IMAP server.

Each message comes with a `done` callback, called once what it said is stored:
a Maildir message is then flagged seen (S) and an IMAP one \\Seen, so the next
read skips it, and a crash in between only means reading it again (the intake
stores each event once).
"""

from __future__ import annotations

import contextlib
import imaplib
import mailbox
import os
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reactivator.errors import InputError

IMAP_PASSWORD_ENV = "REACTIVATOR_IMAP_PASSWORD"  # noqa: S105 (the variable's name, not a secret)


@dataclass(frozen=True)
class Incoming:
    raw: bytes
    done: Callable[[], None]


def _nothing() -> None:
    return None


def is_imap(source: str) -> bool:
    return source.startswith(("imap://", "imaps://"))


def read_mailbox(source: str) -> Iterator[Incoming]:
    """Every message not yet read in `source` (a path, or imap[s]://user@host[:port]/FOLDER)."""
    if is_imap(source):
        yield from _read_imap(source)
        return
    path = Path(source)
    if not path.exists():
        raise InputError(f"{source}: no such file or Maildir folder")
    if path.is_dir():
        yield from _read_maildir(path)
        return
    for raw in read_messages(path):
        yield Incoming(raw, _nothing)


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


def _read_maildir(path: Path) -> Iterator[Incoming]:
    if not (path / "cur").is_dir() or not (path / "new").is_dir():
        raise InputError(f"{path}: not a Maildir folder (it has no cur/ and new/)")
    folder = mailbox.Maildir(path, factory=None, create=False)
    for key in list(folder.iterkeys()):
        try:
            message = folder.get_message(key)
        except (KeyError, FileNotFoundError):
            continue  # taken away by another reader meanwhile
        if "S" in message.get_flags():
            continue

        def done(key: str = key) -> None:
            try:
                seen = folder.get_message(key)
            except (KeyError, FileNotFoundError):
                return
            seen.set_subdir("cur")
            seen.add_flag("S")
            folder[key] = seen

        yield Incoming(folder.get_bytes(key), done)


@dataclass(frozen=True)
class ImapAddress:
    tls: bool
    host: str
    port: int
    user: str
    folder: str


def imap_address(source: str) -> ImapAddress:
    parts = urlsplit(source)
    tls = parts.scheme == "imaps"
    if not parts.hostname or not parts.username:
        raise InputError(f"{source}: write it as imap://user@host[:port]/FOLDER (imaps:// for TLS)")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapAddress(
        tls, parts.hostname, parts.port or (993 if tls else 143), unquote(parts.username), folder
    )


def _read_imap(source: str) -> Iterator[Incoming]:
    where = imap_address(source)
    password = os.environ.get(IMAP_PASSWORD_ENV, "")
    if not password:
        raise InputError(f"{source}: set the password in {IMAP_PASSWORD_ENV}")
    try:
        client = (
            imaplib.IMAP4_SSL(where.host, where.port, ssl_context=ssl.create_default_context(), timeout=30)
            if where.tls
            else imaplib.IMAP4(where.host, where.port, timeout=30)
        )
    except OSError as exc:
        raise InputError(f"{where.host}:{where.port}: cannot reach the IMAP server ({exc})") from exc
    try:
        if not where.tls and where.host not in ("127.0.0.1", "::1", "localhost"):
            if "STARTTLS" not in client.capabilities:
                raise InputError(f"{where.host}: the IMAP server offers no STARTTLS; use imaps://")
            client.starttls(ssl.create_default_context())  # never a password in the clear
        try:
            client.login(where.user, password)
        except imaplib.IMAP4.error as exc:
            raise InputError(f"{where.host}: IMAP login as {where.user} refused") from exc
        status, _ = client.select(_quoted(where.folder))
        if status != "OK":
            raise InputError(f"{where.host}: no folder {where.folder!r}")
        _, found = client.uid("SEARCH", "UNSEEN")
        for uid in (found[0] or b"").decode().split():
            _, data = client.uid("FETCH", uid, "(BODY.PEEK[])")  # PEEK: not \Seen until stored
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if raw is None:
                continue

            def done(uid: str = uid) -> None:
                client.uid("STORE", uid, "+FLAGS", "(\\Seen)")

            yield Incoming(raw, done)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
        with contextlib.suppress(OSError):
            client.shutdown()  # logout closes the socket unless the server already hung up


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
