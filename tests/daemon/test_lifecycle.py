"""One daemon on SQLite, as a real process: it sends, serves, reports, and stops without losing a letter."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from reactivator.mail.capture import free_port
from tests.daemon.processes import (
    CountingHandler,
    DaemonProcess,
    base_env,
    counting_server,
    import_shop,
    migrate,
    reactivator,
)

CUSTOMERS = 40


@pytest.fixture
def shop(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = base_env(f"sqlite:///{tmp_path / 'shop.db'}")
    migrate(env)
    import_shop(tmp_path, env, 0, CUSTOMERS)
    return tmp_path, env


def letter_states(folder: Path) -> Counter[tuple[str, bool]]:
    with sqlite3.connect(folder / "shop.db") as db:
        rows = db.execute("SELECT status, lease_until IS NOT NULL FROM letters").fetchall()
    return Counter((status, bool(leased)) for status, leased in rows)


def daemon_rows(folder: Path) -> int:
    with sqlite3.connect(folder / "shop.db") as db:
        return int(db.execute("SELECT count(*) FROM daemons").fetchone()[0])


def test_the_daemon_sends_what_is_due_serves_health_and_metrics_and_stops_cleanly(
    shop: tuple[Path, dict[str, str]],
) -> None:
    folder, env = shop
    server = CountingHandler()
    with counting_server(server) as smtp_port:
        env = {**env, "REACTIVATOR_SMTP__PORT": str(smtp_port)}
        daemon = DaemonProcess(folder, env)
        try:
            daemon.wait_started()
            daemon.wait_for(lambda: server.delivered == CUSTOMERS, what="every letter")
            assert daemon.get("/healthz").text == "ok"
            ready = daemon.get("/readyz")
            assert (ready.status_code, ready.json()) == (200, {"database": "ok", "smtp": "ok"})
            metrics = daemon.get("/metrics").text
            assert 'reactivator_passes_total{outcome="done"} 1.0' in metrics
            daemon.wait_for(
                lambda: (
                    f'reactivator_letters_handled_total{{outcome="sent"}} {CUSTOMERS}.0'
                    in daemon.get("/metrics").text
                ),
                what="the sent counter",
            )
            status = reactivator("status", "--json", env=env, cwd=folder)
            seen = json.loads(status.stdout)
            assert [d["alive"] for d in seen["daemons"]] == [True]
            assert seen["queue"]["sent"] == CUSTOMERS
            assert seen["next_pass_at"] is not None
        finally:
            daemon.signal(signal.SIGTERM)
            code = daemon.wait()
    assert code == 0
    assert set(server.by_id.values()) == {1}  # every letter once
    assert letter_states(folder) == Counter({("sent", False): CUSTOMERS})
    assert daemon_rows(folder) == 0  # it said goodbye
    sent = [e for e in daemon.events() if e.get("event") == "letter sent"]
    assert len(sent) == CUSTOMERS
    assert {"campaign", "step", "customer", "message_id"} <= set(sent[0])
    assert {e["message_id"] for e in sent} == set(server.by_id)


def test_logs_never_carry_a_body_a_password_or_a_token(shop: tuple[Path, dict[str, str]]) -> None:
    folder, env = shop
    server = CountingHandler()
    password = "S3cret-pass-for-the-relay"
    with counting_server(server) as smtp_port:
        env = {
            **env,
            "REACTIVATOR_SMTP__PORT": str(smtp_port),
            "REACTIVATOR_SMTP_PASSWORD": password,
            "REACTIVATOR_SECRET_KEYS": "a-signing-key-that-must-stay-secret",
        }
        daemon = DaemonProcess(folder, env)
        try:
            daemon.wait_for(lambda: server.delivered == CUSTOMERS, what="every letter")
            daemon.get("/c/not-a-real-token-but-long-enough-to-look-like-one")
        finally:
            daemon.signal(signal.SIGTERM)
            assert daemon.wait() == 0
    text = daemon.log_path.read_text()
    assert password not in text
    assert "a-signing-key-that-must-stay-secret" not in text
    assert "not-a-real-token-but-long-enough" not in text
    assert "unsubscribe" not in text.lower()  # no link, no body
    with sqlite3.connect(folder / "shop.db") as db:
        coupons = [row[0] for row in db.execute("SELECT coupon_code FROM letters")]
    assert len(coupons) == CUSTOMERS
    assert not [code for code in coupons if code in text]  # nothing from a letter's body
    assert all(line.startswith("{") for line in daemon.lines())  # JSON lines when not a terminal


def test_a_second_daemon_on_the_same_sqlite_file_refuses_to_start(shop: tuple[Path, dict[str, str]]) -> None:
    folder, env = shop
    first = DaemonProcess(folder, env)
    try:
        first.wait_started()
        second = reactivator("daemon", env={**env, "REACTIVATOR_WEB__PORT": "1"}, cwd=folder, timeout=60)
        assert second.returncode != 0
        assert "another reactivator daemon" in second.stderr
        assert f"pid {first.process.pid}" in second.stderr
        assert "PostgreSQL" in second.stderr
        assert first.process.poll() is None  # the first one is untouched
    finally:
        first.signal(signal.SIGTERM)
        assert first.wait() == 0


def test_a_daemon_killed_outright_does_not_block_the_next_one(shop: tuple[Path, dict[str, str]]) -> None:
    folder, env = shop
    first = DaemonProcess(folder, env, name="first")
    first.wait_started()
    first.kill()
    second = DaemonProcess(folder, env, name="second")
    try:
        second.wait_started()
    finally:
        second.signal(signal.SIGTERM)
        assert second.wait() == 0


def test_a_broken_template_at_start_stops_the_daemon_before_anything_is_sent(
    shop: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    folder, env = shop
    from tests.daemon.test_templates_live import copy_templates

    templates = copy_templates(tmp_path / "templates")
    (templates / "en" / "we-miss-you.subject.j2").write_text("We miss you {{ customer.first_name\n")
    server = CountingHandler()
    with counting_server(server) as smtp_port:
        env = {**env, "REACTIVATOR_SMTP__PORT": str(smtp_port), "REACTIVATOR_TEMPLATES__DIR": str(templates)}
        done = reactivator("daemon", env=env, cwd=folder, timeout=60)
    assert done.returncode == 1
    assert "en/we-miss-you.subject.j2:1" in done.stderr
    assert server.delivered == 0
    assert letter_states(folder) == Counter()


def test_a_bad_setting_stops_the_daemon_naming_the_key(shop: tuple[Path, dict[str, str]]) -> None:
    folder, env = shop
    done = reactivator("daemon", env={**env, "REACTIVATOR_DAEMON__PASS_EVERY_SECONDS": "soon"}, cwd=folder)
    assert done.returncode == 2
    assert "daemon.pass_every_seconds = 'soon'" in done.stderr
    assert "REACTIVATOR_DAEMON__PASS_EVERY_SECONDS" in done.stderr


def test_a_taken_web_port_stops_the_daemon_with_a_clear_message(shop: tuple[Path, dict[str, str]]) -> None:
    import socket

    folder, env = shop
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = reactivator("daemon", env={**env, "REACTIVATOR_WEB__PORT": str(port)}, cwd=folder, timeout=60)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_the_daemon_serves_the_console_on_its_own_port_when_asked(shop: tuple[Path, dict[str, str]]) -> None:
    folder, env = shop
    console_port = free_port()
    env = {**env, "REACTIVATOR_CONSOLE__SERVE": "true", "REACTIVATOR_CONSOLE__PORT": str(console_port)}
    daemon = DaemonProcess(folder, env)
    try:
        daemon.wait_started()
        overview = httpx.get(f"http://127.0.0.1:{console_port}/", timeout=30)
        assert overview.status_code == 200
        assert "Overview" in overview.text
        assert daemon.get("/").status_code == 404  # the public port does not serve it
    finally:
        daemon.signal(signal.SIGTERM)
        code = daemon.wait()
    assert code == 0


def test_a_console_off_loopback_without_a_password_stops_the_daemon(
    shop: tuple[Path, dict[str, str]],
) -> None:
    folder, env = shop
    env = {**env, "REACTIVATOR_CONSOLE__SERVE": "true", "REACTIVATOR_CONSOLE__HOST": "0.0.0.0"}
    done = reactivator("daemon", env=env, cwd=folder, timeout=60)
    assert done.returncode == 2
    assert "REACTIVATOR_CONSOLE_PASSWORD" in done.stderr


def test_sigterm_mid_batch_finishes_letters_in_flight_and_gives_back_the_rest(
    shop: tuple[Path, dict[str, str]],
) -> None:
    folder, env = shop
    server = CountingHandler(delay=0.2)
    with counting_server(server) as smtp_port:
        env = {**env, "REACTIVATOR_SMTP__PORT": str(smtp_port), "REACTIVATOR_SMTP__POOL_SIZE": "4"}
        daemon = DaemonProcess(folder, env)
        daemon.wait_for(lambda: server.delivered >= 4, what="the first letters")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
        handed_over = server.delivered
        assert handed_over < CUSTOMERS  # it really stopped mid-batch
        states = letter_states(folder)
        assert states[("sent", False)] == handed_over  # every letter the server took is recorded
        assert states[("queued", True)] == 0  # the rest was given back at once
        rerun = DaemonProcess(folder, env, name="rerun")
        try:
            rerun.wait_for(lambda: server.delivered == CUSTOMERS, what="the rest")
        finally:
            rerun.signal(signal.SIGTERM)
            assert rerun.wait() == 0
    assert set(server.by_id.values()) == {1}  # nothing twice
    assert letter_states(folder) == Counter({("sent", False): CUSTOMERS})


def test_a_second_sigint_stops_at_once_and_loses_nothing(shop: tuple[Path, dict[str, str]]) -> None:
    folder, env = shop
    server = CountingHandler(delay=3.0)  # every letter stays in flight for a long time
    pool = 4
    with counting_server(server) as smtp_port:
        env = {
            **env,
            "REACTIVATOR_SMTP__PORT": str(smtp_port),
            "REACTIVATOR_SMTP__POOL_SIZE": str(pool),
            # Without the second signal it would wait ten minutes for the letters in flight.
            "REACTIVATOR_DAEMON__SHUTDOWN_GRACE_SECONDS": "600",
            "REACTIVATOR_SENDING__LEASE_SECONDS": "600",
        }
        daemon = DaemonProcess(folder, env)
        daemon.wait_for(lambda: letter_states(folder)[("queued", True)] > 0, what="a claimed batch")
        time.sleep(0.5)  # the first letters are on the wire
        daemon.signal(signal.SIGINT)
        daemon.wait_for(
            lambda: any(str(e.get("event", "")).startswith("SIGINT: stopping") for e in daemon.events()),
            what="the first signal to land",
        )
        daemon.signal(signal.SIGINT)
        assert daemon.wait(timeout=30) == 130
        states = letter_states(folder)
        assert states[("queued", True)] == 0  # nothing left held: another worker may take them at once
        assert sum(states.values()) == CUSTOMERS  # nothing lost
        rerun = DaemonProcess(folder, {**env, "REACTIVATOR_SMTP__POOL_SIZE": "8"}, name="rerun")
        server.delay = 0.0
        try:
            rerun.wait_for(lambda: len(server.recipients) == CUSTOMERS, what="every customer")
        finally:
            rerun.signal(signal.SIGTERM)
            assert rerun.wait() == 0
    twice = [r for r, n in server.recipients.items() if n > 1]
    assert len(twice) <= pool  # only letters that were on the wire can repeat
    assert letter_states(folder) == Counter({("sent", False): CUSTOMERS})


def test_a_suspended_daemon_runs_one_catch_up_pass_not_a_backlog(shop: tuple[Path, dict[str, str]]) -> None:
    folder, env = shop
    daemon = DaemonProcess(folder, {**env, "REACTIVATOR_DAEMON__PASS_EVERY_SECONDS": "2"})
    try:
        daemon.wait_for(lambda: daemon.count("pass done") >= 2, what="two passes")
        daemon.signal(signal.SIGSTOP)  # as a laptop lid or a paused VM would
        time.sleep(12)  # six passes missed
        before = daemon.count("pass done")
        daemon.signal(signal.SIGCONT)
        daemon.wait_for(lambda: daemon.count("pass done") > before, what="the catch-up pass")
        time.sleep(1.5)
        caught_up = daemon.count("pass done") - before
    finally:
        daemon.signal(signal.SIGCONT)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    # One catch-up pass (and perhaps the next regular one), never the six it missed.
    assert 1 <= caught_up <= 2
