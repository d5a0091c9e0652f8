"""A real IMAP server on loopback for tests: Debian's Dovecot, run in the foreground with a
configuration of its own in a temporary folder (one user, Maildir, plain login on 127.0.0.1)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from reactivator.mail.capture import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
# Dovecot refuses to serve mail as root: as root, the mailbox belongs to "nobody".
MAIL_UID = 65534 if os.getuid() == 0 else os.getuid()
MAIL_GID = 65534 if os.getuid() == 0 else os.getgid()


@dataclass(frozen=True)
class ImapServer:
    port: int
    user: str
    password: str

    def url(self, folder: str = "INBOX") -> str:
        return f"imap://{self.user}@127.0.0.1:{self.port}/{folder}"


def _config(root: Path, port: int) -> str:
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = {MAIL_UID}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_GID} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@contextmanager
def dovecot(user: str = "feedback", password: str = "s3cret-imap") -> Iterator[ImapServer]:
    if not Path(DOVECOT).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the IMAP tests, but Dovecot is not installed (dovecot-imapd)")
        pytest.skip("Dovecot (Debian's dovecot-imapd) is not installed")
    # Not under pytest's private temporary folder: Dovecot's own users must reach the files.
    root = Path(tempfile.mkdtemp(prefix="reactivator-dovecot-"))
    try:
        yield from _serve(root, user, password)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _serve(root: Path, user: str, password: str) -> Iterator[ImapServer]:
    port = free_port()
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir(parents=True)
    for folder in ("mail", "home"):
        os.chown(root / folder, MAIL_UID, MAIL_GID)
    root.chmod(0o755)
    (root / "users").write_text(f"{user}:{{PLAIN}}{password}\n")
    (root / "dovecot.conf").write_text(_config(root, port))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    raise RuntimeError(f"Dovecot did not start: {log[-2000:]}") from None
                time.sleep(0.1)
        yield ImapServer(port, user, password)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
