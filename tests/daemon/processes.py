"""Daemons as real processes, a shop dormant as of today, and a counting SMTP server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from reactivator.config import DatabaseSettings, load_settings
from reactivator.db.engine import Database
from reactivator.mail.capture import free_port
from reactivator.service.app import app_from_settings
from reactivator.service.imports import ImportKind, import_file
from tests.conftest import SHIPPED_TEMPLATES
from tests.smtp_servers import smtp_server

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.M | re.I)
_SUBJECT = re.compile(rb"^Subject:\s*(.*)$", re.M | re.I)


@dataclass
class CountingHandler:
    """Counts every message by Message-ID and recipient, cheaply (thousands of letters).

    `delay`: seconds to wait before answering DATA (a slow server, to catch letters in flight).
    """

    delay: float = 0.0
    by_id: Counter[str] = field(default_factory=Counter)
    recipients: Counter[str] = field(default_factory=Counter)
    subjects: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        content = bytes(envelope.content)
        found = _MESSAGE_ID.search(content)
        subject = _SUBJECT.search(content)
        message_id = found.group(1).decode() if found else "?"
        with self._lock:
            self.by_id[message_id] += 1
            for rcpt in envelope.rcpt_tos:
                self.recipients[str(rcpt)] += 1
                self.subjects[str(rcpt)] = subject.group(1).decode().strip() if subject else ""
        return "250 2.0.0 OK"

    @property
    def delivered(self) -> int:
        return sum(self.by_id.values())


def counting_server(handler: CountingHandler) -> AbstractContextManager[int]:
    """Run `handler` on a free loopback port; yields the port."""
    return smtp_server(handler)


def reactivator(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reactivator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def base_env(database_url: str, templates: Path = SHIPPED_TEMPLATES, **settings: str) -> dict[str, str]:
    """The environment of a daemon under test: its own web port, quiet hours off (the real clock runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACTIVATOR_")}
    env.update(
        REACTIVATOR_DATABASE__URL=database_url,
        REACTIVATOR_TEMPLATES__DIR=str(templates),
        REACTIVATOR_CAMPAIGN__QUIET_HOURS="false",
        REACTIVATOR_WEB__PORT=str(free_port()),
        REACTIVATOR_DAEMON__POLL_SECONDS="0.5",
        REACTIVATOR_DAEMON__HEARTBEAT_SECONDS="1",
    )
    env.update({f"REACTIVATOR_{k.upper()}": v for k, v in settings.items()})
    return env


def write_shop(
    folder: Path, first: int, count: int, days_ago: float = 100, prefix: str = "c"
) -> tuple[Path, Path]:
    """`count` customers whose only order was `days_ago` days before today (so due now)."""
    placed = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = [f"{prefix}{n}" for n in range(first, first + count)]
    customers = folder / f"customers-{prefix}{first}.csv"
    orders = folder / f"orders-{prefix}{first}.csv"
    customers.write_text("id,email,timezone\n" + "".join(f"{i},{i}@example.com,UTC\n" for i in ids))
    orders.write_text(
        "id,customer_id,placed_at,amount\n" + "".join(f"o-{i},{i},{placed},50.00\n" for i in ids)
    )
    return customers, orders


def migrate(env: dict[str, str]) -> None:
    db = Database(env["REACTIVATOR_DATABASE__URL"])
    db.upgrade()
    db.dispose()


def import_shop(folder: Path, env: dict[str, str], first: int, count: int, prefix: str = "c") -> None:
    """Import the shop through the real import path (in this process: quicker than the CLI)."""
    customers, orders = write_shop(folder, first, count, prefix=prefix)
    app = app_from_settings(
        load_settings(None, database=DatabaseSettings(url=env["REACTIVATOR_DATABASE__URL"]))
    )
    try:
        for kind, path in ((ImportKind.CUSTOMERS, customers), (ImportKind.ORDERS, orders)):
            summary = import_file(app, kind, path, datetime.now(UTC))
            assert summary.rejected == 0, summary
    finally:
        app.db.dispose()


class DaemonProcess:
    """`reactivator daemon` in a process of its own, its log lines (JSON) kept in a file."""

    def __init__(self, folder: Path, env: dict[str, str], name: str = "daemon") -> None:
        self.env = env
        self.log_path = folder / f"{name}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reactivator", "daemon"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            text=True,
        )

    @property
    def port(self) -> int:
        return int(self.env["REACTIVATOR_WEB__PORT"])

    def lines(self) -> list[str]:
        return self.log_path.read_text().splitlines()

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.lines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return found

    def count(self, event: str) -> int:
        return sum(1 for e in self.events() if e.get("event") == event)

    def wait_for(self, condition: Callable[[], bool], timeout: float = 90.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the daemon exited ({self.process.returncode}):\n{self.log_path.read_text()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.log_path.read_text()[-4000:]}")
            time.sleep(0.05)

    def wait_started(self) -> None:
        self.wait_for(lambda: self.count("daemon started") == 1, what="the daemon to start")

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=10)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()
