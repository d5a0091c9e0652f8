"""Delivery benchmark: reactivator's send path against Postfix's C tools and the naive way.

    .venv/bin/python bench/delivery.py [--letters 3000] [--rounds 3] [--naive 200] [--sessions 20]
        [--postgres postgresql://postgres@127.0.0.1]

Needs Postfix's smtp-sink and smtp-source (Debian package `postfix`; the mail
system itself is never started). Every figure is letters per second into the
same smtp-sink on 127.0.0.1. Rounds interleave ours and the C reference; the
table shows the median of the per-round ratios:
  C reference   `smtp-source -d -s SESSIONS`: SESSIONS persistent connections, messages the
                size of our letters, as many as run for at least 10 seconds
  naive         per letter: bare Jinja2 render + premailer + stdlib MIME + a new smtplib connection
  in process    the send loop on SQLite: claim from the database, check the customer again,
                render (inline-once CSS, text, signed links), build MIME, send over the
                connection pool, record the result (the letters queued beforehand)
  CLI           `reactivator run` as a shop runs it: start-up, the template check, the pass
                that queues the letters, and the sending            (target: >= 0.12 of C)
  PostgreSQL    with --postgres SERVER: the in-process send loop again, on a PostgreSQL copy
                of the same shop (CREATE DATABASE ... TEMPLATE), in the same rounds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import select

from reactivator.config import load_settings
from reactivator.core.records import CustomerRecord, OrderRecord
from reactivator.db.orders import write_orders
from reactivator.mail.capture import free_port
from reactivator.render.environment import away, long_date, money, number, plural
from reactivator.render.inline import PremailerInliner
from reactivator.render.samples import at_step, sample_letter
from reactivator.service.app import App, app_from_settings
from reactivator.service.delivery import send_with_configured_mailer
from reactivator.service.imports import record_customers
from reactivator.service.letters import checked_composer
from reactivator.service.passes import enroll_and_queue

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def start_sink(port: int) -> subprocess.Popen[bytes]:
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    process = subprocess.Popen([sink, "-u", "nobody", f"127.0.0.1:{port}", "256"])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("smtp-sink did not start")


def c_reference(port: int, sessions: int, size: int, at_least_s: float = 10.0) -> float:
    """smtp-source's rate with persistent sessions (-d), sized to run for `at_least_s` seconds."""
    messages = 2000
    while True:
        rate, seconds = _smtp_source(port, sessions, size, messages)
        if seconds >= at_least_s:
            return rate
        messages = int(rate * at_least_s * 1.1) + 1


def _smtp_source(port: int, sessions: int, size: int, messages: int) -> tuple[float, float]:
    source = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    start = time.perf_counter()
    subprocess.run(
        [
            source,
            "-d",
            "-s",
            str(sessions),
            "-m",
            str(messages),
            "-l",
            str(size),
            "-f",
            "hello@shop.example.com",
            "-t",
            "someone@example.com",
            f"127.0.0.1:{port}",
        ],
        check=True,
    )
    seconds = time.perf_counter() - start
    return messages / seconds, seconds


def build_shop(app: App, letters: int) -> None:
    """`letters` customers whose last purchase was 100 days ago: one letter each."""
    start = NOW - timedelta(days=400)
    people = [
        CustomerRecord(
            f"B{n:06d}",
            f"b{n}@example.com",
            f"b{n}@example.com",
            first_name="Jane",
            locale="ru" if n % 2 else "en",
            timezone="UTC",
        )
        for n in range(letters)
    ]
    record_customers(app, people, start)
    orders = [
        (n + 1, OrderRecord(f"O{n:06d}", f"B{n:06d}", NOW - timedelta(days=100), 5000, "USD"))
        for n in range(letters)
    ]
    with app.db.write() as conn:
        write_orders(conn, orders, NOW - timedelta(days=99), timedelta(days=30))


def naive(port: int, letters: int, settings_dir: Path) -> float:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(settings_dir), autoescape=True)
    env.filters.update(money=money, date=long_date, plural=plural, number=number, away=away)
    template = env.get_template("en/we-miss-you.html.j2")
    settings = load_settings(ROOT / "config" / "reactivator.toml", templates={"dir": settings_dir})
    from reactivator.render.catalog import Catalog
    from reactivator.render.composer import Composer
    from reactivator.render.links import Tokens

    composer = Composer(settings, Catalog.load(settings_dir), Tokens(["bench-key-" + "x" * 32]))
    letter = at_step(sample_letter("new", NOW), "we-miss-you", 0, 10, "ladder", NOW)
    context = composer.context_for(letter, NOW, "en")
    inliner = PremailerInliner()
    start = time.perf_counter()
    for n in range(letters):
        html = inliner.inline(template.render(context))
        message = EmailMessage()
        message["From"] = "Demo Shop <hello@shop.example.com>"
        message["To"] = f"n{n}@example.com"
        message["Subject"] = "We miss you"
        message.set_content("We miss you")
        message.add_alternative(html, subtype="html")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)
    return letters / (time.perf_counter() - start)


def prepared_shop(folder: Path, letters: int) -> Path:
    """A database of `letters` customers each due one letter (nothing queued yet)."""
    path = folder / "shop.db"
    app = app_from_settings(_settings(path, 25, 8), require_schema=False)  # sends nothing
    app.db.upgrade()
    build_shop(app, letters)
    app.db.dispose()
    return path


def _settings(db: Path | str, port: int, pool: int) -> Any:
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    return load_settings(
        ROOT / "config" / "reactivator.toml",
        database={"url": url},
        templates={"dir": ROOT / "templates" / "emails"},
        smtp={"port": port, "pool_size": pool},
        sending={"batch_size": 500},
        campaign={"quiet_hours": False},
    )


def ours(shop: Path | str, port: int, letters: int, pool: int) -> tuple[float, int]:
    """The send loop in this process on a copy of the shop, its letters queued beforehand.

    `shop`: the SQLite file, or the URL of a PostgreSQL database to send from (a fresh copy).
    """
    db: Path | str = shop if isinstance(shop, str) else shop.with_name("inproc.db")
    if isinstance(shop, Path):
        shutil.copyfile(shop, db)
    app = app_from_settings(_settings(db, port, pool))
    enroll_and_queue(app, NOW)
    composer = checked_composer(app, NOW)
    start = time.perf_counter()
    report = asyncio.run(send_with_configured_mailer(app, NOW, composer))
    seconds = time.perf_counter() - start
    assert report.sent > 0.8 * letters, report  # the holdout's control group gets no letter
    with app.db.read() as conn:
        from reactivator.db import letters as letter_rows
        from reactivator.db.tables import letters as letter_table

        sent_id = conn.execute(select(letter_table.c.id).where(letter_table.c.status == "sent")).scalar()
        one = letter_rows.load(conn, [sent_id])[0]
    letter_bytes = len(composer.compose(one, NOW).message.as_bytes())
    app.db.dispose()
    if isinstance(db, Path):
        db.unlink()
    return report.sent / seconds, letter_bytes


PG_SHOP, PG_ROUND = "reactivator_bench_delivery_shop", "reactivator_bench_delivery"


def _psql(server: str, sql: str) -> None:
    psql = shutil.which("psql") or "/usr/bin/psql"
    quiet = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}  # no NOTICE for IF EXISTS
    subprocess.run([psql, f"{server.rstrip('/')}/postgres", "-qc", sql], check=True, env=quiet)


def _pg_url(server: str, database: str) -> str:
    return f"{server.rstrip('/')}/{database}".replace("postgresql://", "postgresql+psycopg://", 1)


def prepared_postgres_shop(server: str, letters: int) -> None:
    """The same shop as prepared_shop, in a PostgreSQL database that each round copies."""
    for sql in (f"DROP DATABASE IF EXISTS {PG_ROUND}", f"DROP DATABASE IF EXISTS {PG_SHOP}"):
        _psql(server, sql)
    _psql(server, f"CREATE DATABASE {PG_SHOP}")
    app = app_from_settings(_settings(_pg_url(server, PG_SHOP), 25, 8), require_schema=False)
    app.db.upgrade()
    build_shop(app, letters)
    app.db.dispose()


def ours_postgres(server: str, port: int, letters: int, pool: int) -> float:
    """`ours` on a fresh PostgreSQL copy of the shop."""
    _psql(server, f"DROP DATABASE IF EXISTS {PG_ROUND}")
    _psql(server, f"CREATE DATABASE {PG_ROUND} TEMPLATE {PG_SHOP}")
    try:
        return ours(_pg_url(server, PG_ROUND), port, letters, pool)[0]
    finally:
        _psql(server, f"DROP DATABASE IF EXISTS {PG_ROUND}")


def ours_cli(shop: Path, port: int, letters: int, pool: int) -> float:
    """`reactivator run --now ...` on a copy of the shop: the whole command, as a shop runs it."""
    db = shop.with_name("cli.db")
    shutil.copyfile(shop, db)
    env = {
        **os.environ,
        "REACTIVATOR_CONFIG": str(ROOT / "config" / "reactivator.toml"),
        "REACTIVATOR_DATABASE__URL": f"sqlite:///{db}",
        "REACTIVATOR_TEMPLATES__DIR": str(ROOT / "templates" / "emails"),
        "REACTIVATOR_SMTP__PORT": str(port),
        "REACTIVATOR_SMTP__POOL_SIZE": str(pool),
        "REACTIVATOR_SENDING__BATCH_SIZE": "500",
        "REACTIVATOR_CAMPAIGN__QUIET_HOURS": "false",
    }
    cli = str(Path(sys.executable).parent / "reactivator")
    start = time.perf_counter()
    done = subprocess.run(
        [cli, "run", "--now", NOW.isoformat(), "--json"],
        env=env,
        capture_output=True,
        text=True,
        cwd=shop.parent,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"reactivator run failed: {done.stderr[-2000:]}")
    sent = json.loads(done.stdout)["sent"]["sent"]
    assert sent > 0.8 * letters, (sent, letters)  # the holdout's control group gets no letter
    db.unlink()
    return int(sent) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--letters", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--naive", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--postgres", help="also send from PostgreSQL (a server URL, trust auth)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    port = free_port()
    sink = start_sink(port)
    folder = Path(tempfile.mkdtemp(prefix="reactivator-bench-"))
    in_process: list[tuple[float, float]] = []
    through_cli: list[tuple[float, float]] = []
    on_postgres: list[tuple[float, float]] = []
    try:
        shop = prepared_shop(folder, args.letters)
        if args.postgres:
            prepared_postgres_shop(args.postgres, args.letters)
        size = 0
        for n in range(args.rounds):
            rate, size = ours(shop, port, args.letters, args.pool)
            c_rate = c_reference(port, args.sessions, size)
            cli_rate = ours_cli(shop, port, args.letters, args.pool)
            in_process.append((rate, c_rate))
            through_cli.append((cli_rate, c_rate))
            pg = ""
            if args.postgres:
                pg_rate = ours_postgres(args.postgres, port, args.letters, args.pool)
                on_postgres.append((pg_rate, c_rate))
                pg = f", PostgreSQL {pg_rate:.0f}/s"
            print(
                f"round {n + 1}: in process {rate:.0f}/s, CLI {cli_rate:.0f}/s{pg}, "
                f"C reference {c_rate:.0f}/s",
                flush=True,
            )
        naive_rate = naive(port, args.naive, ROOT / "templates" / "emails")
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(folder, ignore_errors=True)
        if args.postgres:
            _psql(args.postgres, f"DROP DATABASE IF EXISTS {PG_SHOP}")
    c_median = statistics.median(c for _, c in in_process)
    print(
        f"\n{args.letters} letters of ~{size / 1024:.1f} KB into smtp-sink on 127.0.0.1, {args.rounds} rounds"
    )
    print(
        f"{'C reference: smtp-source -d, ' + str(args.sessions) + ' sessions':44s} {c_median:9.0f} letters/s"
    )
    print(f"{'naive: render + premailer + new connection':44s} {naive_rate:9.0f} letters/s")
    measured = [("in process: claim..record", in_process), ("CLI: reactivator run", through_cli)]
    if on_postgres:
        measured.append(("in process on PostgreSQL", on_postgres))
    for name, pairs in measured:
        rate = statistics.median(r for r, _ in pairs)
        ratio = statistics.median(r / c for r, c in pairs)
        print(f"{name + ', pool ' + str(args.pool):44s} {rate:9.0f} letters/s   / C = {ratio:.3f} (>= 0.12)")
    rate = statistics.median(r for r, _ in in_process)
    print(f"in process / naive = {rate / naive_rate:.1f}x  (target >= 25x)")


if __name__ == "__main__":
    main()
