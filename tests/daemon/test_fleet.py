"""Several daemons on one PostgreSQL database: every letter exactly once, the work spread over all,
and a daemon killed mid-batch loses nothing and repeats at most the letters it had in flight."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import _truncate
from tests.daemon.processes import CountingHandler, DaemonProcess, base_env, counting_server, import_shop

pytestmark = pytest.mark.postgresql

DAEMONS = 3
LETTERS = 2400
POOL = 4


@pytest.fixture
def fleet_db(postgres_url: str) -> Iterator[str]:
    _truncate(postgres_url)
    yield postgres_url
    _truncate(postgres_url)


def ledger(url: str) -> tuple[Counter[str], Counter[str]]:
    """Letters by status, and the sent ones by the daemon that sent them."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            states = Counter(
                {r[0]: r[1] for r in conn.execute(text("SELECT status, count(*) FROM letters GROUP BY 1"))}
            )
            senders = Counter(
                {
                    r[0]: r[1]
                    for r in conn.execute(
                        text("SELECT leased_by, count(*) FROM letters WHERE status = 'sent' GROUP BY 1")
                    )
                }
            )
    finally:
        engine.dispose()
    return states, senders


def start_fleet(folder: Path, url: str, smtp_port: int, lease_seconds: int = 300) -> list[DaemonProcess]:
    fleet = []
    for n in range(DAEMONS):
        env = base_env(
            url,
            SMTP__PORT=str(smtp_port),
            SMTP__POOL_SIZE=str(POOL),
            SENDING__BATCH_SIZE="50",
            SENDING__LEASE_SECONDS=str(lease_seconds),
            DAEMON__PASS_EVERY_SECONDS="2",
        )
        fleet.append(DaemonProcess(folder, env, name=f"daemon-{n}"))
    for daemon in fleet:
        daemon.wait_started()
    return fleet


def stop_fleet(fleet: list[DaemonProcess]) -> list[int]:
    for daemon in fleet:
        if daemon.process.poll() is None:
            daemon.signal(signal.SIGTERM)
    return [daemon.wait() for daemon in fleet]


def test_a_fleet_sends_every_letter_exactly_once_and_every_daemon_takes_a_share(
    tmp_path: Path, fleet_db: str
) -> None:
    server = CountingHandler()
    with counting_server(server) as smtp_port:
        fleet = start_fleet(tmp_path, fleet_db, smtp_port)
        try:
            # The letters become due only once the whole fleet is up, as in a running shop.
            import_shop(tmp_path, fleet[0].env, 0, LETTERS)
            fleet[0].wait_for(lambda: server.delivered >= LETTERS, timeout=300, what="every letter")
        finally:
            codes = stop_fleet(fleet)
    assert codes == [0] * DAEMONS
    assert len(server.by_id) == LETTERS
    assert set(server.by_id.values()) == {1}  # exactly once
    assert set(server.recipients.values()) == {1}
    states, senders = ledger(fleet_db)
    assert states == Counter({"sent": LETTERS})
    assert len(senders) == DAEMONS  # every process did some of the work
    passes = sum(d.count("pass done") for d in fleet)
    enrolled = sum(e.get("enrolled", 0) for d in fleet for e in d.events() if e.get("event") == "pass done")
    assert passes >= 1
    assert enrolled == LETTERS  # each customer enrolled once, however many passes ran


def test_a_daemon_killed_mid_batch_loses_nothing_and_repeats_only_letters_in_flight(
    tmp_path: Path, fleet_db: str
) -> None:
    server = CountingHandler(delay=0.01)
    with counting_server(server) as smtp_port:
        fleet = start_fleet(tmp_path, fleet_db, smtp_port, lease_seconds=5)
        victim = fleet[1]
        try:
            import_shop(tmp_path, victim.env, 0, LETTERS)
            victim.wait_for(
                lambda: victim.count("letter sent") >= 50, timeout=300, what="the victim's letters"
            )
            victim.process.send_signal(signal.SIGKILL)
            victim.wait(10)
            fleet[0].wait_for(lambda: len(server.recipients) >= LETTERS, timeout=300, what="every customer")
        finally:
            codes = stop_fleet([fleet[0], fleet[2]])
    assert codes == [0, 0]
    assert victim.process.returncode == -signal.SIGKILL
    assert len(server.recipients) == LETTERS  # nothing lost
    twice = [r for r, n in server.recipients.items() if n > 1]
    assert len(twice) <= POOL  # only what the killed daemon had on the wire
    assert len(server.by_id) == LETTERS  # a repeated letter keeps its Message-ID
    states, senders = ledger(fleet_db)
    assert states == Counter({"sent": LETTERS})
    assert len(senders) == DAEMONS  # the victim's work before it died is on record too
