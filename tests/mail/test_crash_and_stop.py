"""A sender process killed or stopped mid-batch: nothing lost, duplicates within the in-flight bound."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SHIPPED_TEMPLATES
from tests.smtp_servers import FaultHandler, smtp_server

NOW = "2026-06-01T12:00:00+00:00"
LATER = "2026-06-01T12:10:00+00:00"  # after every lease of the first run has run out
CUSTOMERS = 40
POOL = 4


def reactivator(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reactivator", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    customers = ["id,email,timezone"] + [f"c{n},c{n}@example.com,UTC" for n in range(CUSTOMERS)]
    orders = ["id,customer_id,placed_at,amount"] + [
        f"o{n},c{n},2026-02-01T10:00:00Z,50.00" for n in range(CUSTOMERS)
    ]
    (tmp_path / "customers.csv").write_text("\n".join(customers) + "\n")
    (tmp_path / "orders.csv").write_text("\n".join(orders) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACTIVATOR_")}
    env.update(
        REACTIVATOR_DATABASE__URL=f"sqlite:///{tmp_path / 'shop.db'}",
        REACTIVATOR_TEMPLATES__DIR=str(SHIPPED_TEMPLATES),
        REACTIVATOR_SMTP__POOL_SIZE=str(POOL),
        REACTIVATOR_SENDING__LEASE_SECONDS="60",
        REACTIVATOR_SENDING__BATCH_SIZE="100",
    )
    for args in (
        ["db", "upgrade"],
        ["import", "customers", "customers.csv"],
        ["import", "orders", "orders.csv"],
    ):
        assert finish(reactivator(*args, env=env, cwd=tmp_path)) == 0
    return tmp_path, env


def finish(process: subprocess.Popen[str], timeout: float = 120) -> int:
    """Wait for the process and close its pipes; its exit code (its stderr is shown on failure)."""
    _out, err = process.communicate(timeout=timeout)
    if process.returncode not in (0, -signal.SIGKILL):
        print(err)
    return process.returncode


def statuses(folder: Path) -> Counter[tuple[str, bool]]:
    with sqlite3.connect(folder / "shop.db") as db:
        rows = db.execute("SELECT status, lease_until IS NOT NULL FROM letters").fetchall()
    return Counter((status, bool(leased)) for status, leased in rows)


def wait_for(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_kill_9_mid_batch_loses_nothing_and_duplicates_at_most_the_letters_in_flight(
    shop: tuple[Path, dict[str, str]],
) -> None:
    folder, env = shop
    server = FaultHandler(data_delay=0.1)
    with smtp_server(server) as port:
        env = {**env, "REACTIVATOR_SMTP__PORT": str(port)}
        first = reactivator("run", "--now", NOW, env=env, cwd=folder)
        wait_for(lambda: len(server.messages) >= 8)
        first.send_signal(signal.SIGKILL)
        finish(first)
        assert len(server.messages) < CUSTOMERS  # it really died mid-batch
        second = reactivator("run", "--now", LATER, env=env, cwd=folder)
        assert finish(second) == 0
    delivered = Counter(server.recipients())
    assert set(delivered) == {f"c{n}@example.com" for n in range(CUSTOMERS)}  # nothing lost
    twice = [r for r, n in delivered.items() if n > 1]
    assert len(twice) <= POOL  # at most one per connection in flight
    ids: dict[str, set[str]] = {}
    for recipients, message in server.messages:
        ids.setdefault(recipients[0], set()).add(str(message["Message-ID"]))
    assert all(len(found) == 1 for found in ids.values())  # a duplicate keeps its Message-ID
    assert statuses(folder) == Counter({("sent", False): CUSTOMERS})


def test_sigterm_stops_claiming_finishes_letters_in_flight_and_exits_cleanly(
    shop: tuple[Path, dict[str, str]],
) -> None:
    folder, env = shop
    server = FaultHandler(data_delay=0.2)
    with smtp_server(server) as port:
        env = {**env, "REACTIVATOR_SMTP__PORT": str(port)}
        first = reactivator("run", "--now", NOW, env=env, cwd=folder)
        wait_for(lambda: len(server.messages) >= 4)
        first.send_signal(signal.SIGTERM)
        assert finish(first, 30) == 0
        after_stop = len(server.messages)
        assert after_stop < CUSTOMERS
        counts = statuses(folder)
        assert counts[("sent", False)] == after_stop  # every letter handed over was recorded
        assert counts[("queued", True)] == 0  # the rest of the batch was given back at once
        second = reactivator("run", "--now", NOW, env=env, cwd=folder)
        assert finish(second) == 0
    assert sorted(server.recipients()) == sorted(
        f"c{n}@example.com" for n in range(CUSTOMERS)
    )  # no duplicate
    assert statuses(folder) == Counter({("sent", False): CUSTOMERS})
