"""Delivery benchmark: reactivator's full send path against Postfix's C tools and the naive way, in one run.

    .venv/bin/python bench/delivery.py [--letters 3000] [--naive 200] [--sessions 20]

Needs Postfix's smtp-sink and smtp-source (Debian package `postfix`; the mail
system itself is never started). Every figure is letters per second into the
same smtp-sink on 127.0.0.1, printed with its ratio:
  C reference   smtp-source with --sessions sessions, messages the size of our letters
  naive         per letter: bare Jinja2 render + premailer + stdlib MIME + a new smtplib connection
  reactivator   the full path in one process on SQLite: claim from the database, check the customer
                again, render (inline-once CSS, text, signed links), build MIME, send over the
                connection pool, record the result                    (targets: >= 0.12 of C, >= 25x naive)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import jinja2

from reactivator.config import load_settings
from reactivator.core.records import CustomerRecord, OrderRecord
from reactivator.db.orders import write_orders
from reactivator.mail.capture import free_port
from reactivator.render.environment import long_date, money, number, plural
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


def c_reference(port: int, messages: int, sessions: int, size: int) -> float:
    source = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    start = time.perf_counter()
    subprocess.run(
        [
            source,
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
    return messages / (time.perf_counter() - start)


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
    env.filters.update(money=money, date=long_date, plural=plural, number=number)
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


def ours(port: int, letters: int, pool: int) -> tuple[float, int]:
    folder = Path(tempfile.mkdtemp(prefix="reactivator-bench-"))
    try:
        settings = load_settings(
            ROOT / "config" / "reactivator.toml",
            database={"url": f"sqlite:///{folder / 'bench.db'}"},
            templates={"dir": ROOT / "templates" / "emails"},
            smtp={"port": port, "pool_size": pool},
            sending={"batch_size": 500},
            campaign={"quiet_hours": False},
        )
        app = app_from_settings(settings, require_schema=False)
        app.db.upgrade()
        build_shop(app, letters)
        enroll_and_queue(app, NOW)
        composer = checked_composer(app, NOW)
        letter_bytes = 0
        start = time.perf_counter()
        report = asyncio.run(send_with_configured_mailer(app, NOW, composer))
        seconds = time.perf_counter() - start
        assert report.sent == letters, report
        with app.db.read() as conn:
            from reactivator.db import letters as letter_rows

            one = letter_rows.load(conn, [1])[0]
        letter_bytes = len(composer.compose(one, NOW).message.as_bytes())
        app.db.dispose()
        return letters / seconds, letter_bytes
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--letters", type=int, default=3000)
    parser.add_argument("--naive", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--pool", type=int, default=8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    port = free_port()
    sink = start_sink(port)
    try:
        our_rate, size = ours(port, args.letters, args.pool)
        c_rate = c_reference(port, args.letters, args.sessions, size)
        naive_rate = naive(port, args.naive, ROOT / "templates" / "emails")
    finally:
        sink.terminate()
        sink.wait()
    print(f"letters of ~{size / 1024:.1f} KB into smtp-sink on 127.0.0.1 (one run)")
    print(f"{'C reference: smtp-source, ' + str(args.sessions) + ' sessions':44s} {c_rate:9.0f} letters/s")
    print(f"{'naive: render + premailer + new connection':44s} {naive_rate:9.0f} letters/s")
    print(f"{'reactivator: claim..record, pool ' + str(args.pool):44s} {our_rate:9.0f} letters/s")
    print(f"reactivator / C reference = {our_rate / c_rate:.3f}   (target >= 0.12)")
    print(f"reactivator / naive       = {our_rate / naive_rate:.1f}x  (target >= 25x)")


if __name__ == "__main__":
    main()
