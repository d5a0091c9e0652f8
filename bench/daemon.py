"""Daemon benchmark: `reactivator daemon` as real processes on PostgreSQL, into Postfix's smtp-sink.

    .venv/bin/python bench/daemon.py [--letters 4000] [--busy-letters 6000] [--seconds 10] [--pool 8]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth; a scratch database is created and
dropped), Postfix's smtp-sink (the mail system itself is never started) and wrk. Figures, each
printed with its ratio to a reference measured in the same run:
  throughput   letters/s into smtp-sink with one daemon (the reference), then with two daemons
               on the same queue, same --letters; from the first letter delivered to the last
  web p99      wrk (-t1, --connections, --seconds, loopback) on GET /healthz (no database) and
               GET /o/<token>.gif (the open pixel: verifies a real token, writes an engagement);
               the idle daemon is the reference, then the same daemon while it sends
               --busy-letters                                            (target: busy <= 3x idle)
  floor        the same wrk on a bare uvicorn + Starlette /healthz (uvicorn.run, no daemon): what
               this machine's loopback and HTTP stack give, to judge the idle daemon itself by
  CPU s/1k     the daemons' CPU seconds per 1,000 letters: near 1 core per daemon means CPU-bound
Customers are imported in-process before the daemons start: the pass at start queues them (the
next is 900 s away, so no pass runs while we measure). Recipients are spread over --domains
domains so the per-domain concurrency limit (4 per daemon) does not cap one daemon below two.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from reactivator.config import DatabaseSettings, load_settings
from reactivator.db.engine import Database
from reactivator.db.tables import metadata
from reactivator.mail.capture import free_port
from reactivator.render.links import Tokens
from reactivator.service.app import app_from_settings
from reactivator.service.imports import ImportKind, import_file
from reactivator.service.letters import signing_keys

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Everything but the signing keys: a token made in one run phase stays valid in the next.
TABLES = ", ".join(t.name for t in metadata.sorted_tables if t.name != "signing_keys")


class Sink:
    """smtp-sink -c prints `sess=N quit=N mesg=N` + CR after every message; a thread keeps the count."""

    def __init__(self) -> None:
        sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        self.port = port = free_port()
        self.process = subprocess.Popen(
            [sink, "-c", "-u", "nobody", f"127.0.0.1:{port}", "256"], stdout=subprocess.PIPE
        )
        self.count = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read1(65536):
            found = re.findall(rb"mesg=(\d+)", chunk)
            if found:
                self.count = int(found[-1])

    def wait_for(self, target: int, timeout: float, daemons: list[Daemon]) -> float:
        """The monotonic time the count reached `target` (polled every 2 ms: far below our figures)."""
        deadline = time.monotonic() + timeout
        while self.count < target:
            for daemon in daemons:
                if daemon.process.poll() is not None:
                    raise RuntimeError(f"daemon exited:\n{daemon.log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"smtp-sink has {self.count} of {target} letters after {timeout}s")
            time.sleep(0.002)
        return time.monotonic()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


class Daemon:
    """`reactivator daemon` in its own process; its JSON log lines in a file."""

    def __init__(self, folder: Path, url: str, smtp_port: int, pool: int, name: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("REACTIVATOR_")}
        env.update(
            REACTIVATOR_DATABASE__URL=url,
            REACTIVATOR_TEMPLATES__DIR=str(ROOT / "templates" / "emails"),
            REACTIVATOR_CAMPAIGN__QUIET_HOURS="false",  # the real clock runs: no letter held overnight
            REACTIVATOR_SMTP__PORT=str(smtp_port),
            REACTIVATOR_SMTP__POOL_SIZE=str(pool),
            REACTIVATOR_WEB__PORT=str(self.port),
            REACTIVATOR_DAEMON__PASS_EVERY_SECONDS="900",
            REACTIVATOR_DAEMON__POLL_SECONDS="0.5",
        )
        self.log_path = folder / f"{name}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reactivator", "daemon"],
                cwd=folder,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def cpu_seconds(self) -> float:
        """User + system CPU time so far (Linux /proc): tells whether a daemon is CPU-bound."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> list[str]:
        """SIGTERM, wait; what went wrong (exit code, warnings and errors in the log)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        events = [json.loads(line) for line in self.log_path.open() if line.startswith("{")]
        levels = ("warning", "error", "critical")
        bad = Counter(f"{e.get('level')}: {e.get('event')}" for e in events if e.get("level") in levels)
        exit_code = [] if code == 0 else [f"exit code {code}"]
        return [f"{self.log_path.name}: {p}" for p in exit_code + [f"{b} (x{n})" for b, n in bad.items()]]


def machine_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy over `seconds` (/proc/stat): another job here skews every figure."""

    def sample() -> tuple[int, int]:
        ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(ticks), ticks[3] + ticks[4]  # all, idle + iowait

    (total, idle), _, (total2, idle2) = sample(), time.sleep(seconds), sample()
    return 1 - (idle2 - idle) / max(1, total2 - total)


def sql(url: str, statement: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def import_shop(folder: Path, url: str, prefix: str, count: int, domains: int) -> None:
    """`count` customers whose only order was 100 days ago, so each is due for the first letter now."""
    placed = (datetime.now(UTC) - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = [f"{prefix}{n}" for n in range(count)]
    customers, orders = folder / f"customers-{prefix}.csv", folder / f"orders-{prefix}.csv"
    customers.write_text(
        "id,email,timezone\n"
        + "".join(f"{i},{i}@d{n % domains}.example.com,UTC\n" for n, i in enumerate(ids))
    )
    orders.write_text(
        "id,customer_id,placed_at,amount\n" + "".join(f"o-{i},{i},{placed},50.00\n" for i in ids)
    )
    app = app_from_settings(load_settings(None, database=DatabaseSettings(url=url)))
    try:
        for kind, path in ((ImportKind.CUSTOMERS, customers), (ImportKind.ORDERS, orders)):
            assert import_file(app, kind, path, datetime.now(UTC)).rejected == 0
    finally:
        app.db.dispose()


def throughput(
    folder: Path, url: str, sink: Sink, args: argparse.Namespace, daemons: int
) -> tuple[float, float, list[object]]:
    """Letters/s with `daemons` processes on one queue, from the first letter delivered to the last;
    the daemons' CPU seconds per 1,000 letters; the letters each sent."""
    sql(url, f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    import_shop(folder, url, f"t{daemons}-", args.letters, args.domains)
    base = sink.count
    fleet = [Daemon(folder, url, sink.port, args.pool, f"throughput-{daemons}-{n}") for n in range(daemons)]
    try:
        first = sink.wait_for(base + 1, 120, fleet)
        cpu = -sum(daemon.cpu_seconds() for daemon in fleet)  # less the start (templates, the pass)
        last = sink.wait_for(base + args.letters, 600, fleet)
        cpu = (cpu + sum(daemon.cpu_seconds() for daemon in fleet)) * 1000 / (args.letters - 1)
    finally:
        for daemon in fleet:
            PROBLEMS.extend(daemon.stop())
    states = dict(sql(url, "SELECT status, count(*) FROM letters GROUP BY 1"))
    shares = sorted(n for _, n in sql(url, "SELECT leased_by, count(*) FROM letters GROUP BY 1"))
    if states != {"sent": args.letters}:
        PROBLEMS.append(f"{daemons} daemon(s): letters by status {states}")
    return (args.letters - 1) / (last - first), cpu, shares


# A bare uvicorn + Starlette app with the daemon's uvicorn settings. uvicorn makes its own socket here
# (the daemon passes one it bound itself), so a gap between the two points at the daemon's socket.
BARE = """import sys, uvicorn, starlette.applications as a, starlette.responses as r, starlette.routing as t
async def ok(request): return r.PlainTextResponse("ok")
uvicorn.run(a.Starlette(routes=[t.Route("/healthz", ok)]), port=int(sys.argv[1]), log_config=None,
            access_log=False, lifespan="off")"""


def floor(args: argparse.Namespace) -> tuple[float, float]:
    """The machine's floor: /healthz of the bare app under the same wrk."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", BARE, str(port)])
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return wrk_p99(f"http://127.0.0.1:{port}/healthz", args)
    finally:
        server.terminate()
        server.wait()


def wrk_p99(url: str, args: argparse.Namespace) -> tuple[float, float]:
    """p99 latency in ms and requests/s of `url` under wrk; errors and non-2xx replies are problems."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    for bad in re.findall(r"Non-2xx or 3xx responses: \d+|Socket errors: .*", out):
        PROBLEMS.append(f"wrk {url.rsplit('/', 1)[-1][:12]}: {bad}")
    return p99, float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def latency(folder: Path, url: str, sink: Sink, args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    """p99 and req/s of /healthz and the pixel: idle, then while sending --busy-letters."""
    sql(url, f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    app = app_from_settings(load_settings(None, database=DatabaseSettings(url=url)))
    # The stored key (made here if need be) is the daemons' key too; letter 1 is the idle run's first.
    token = Tokens(signing_keys(app, datetime.now(UTC))).sign("open", 1)
    app.db.dispose()
    found: dict[str, tuple[float, float]] = {}
    # Idle: 20 letters, all sent before wrk starts. Busy: same database and settings, a large batch
    # queued by the pass at start; wrk starts once 50 letters are out (the pass is over).
    for phase, letters in (("idle", 20), ("busy", args.busy_letters)):
        import_shop(folder, url, f"{phase}-", letters, args.domains)
        target = sink.count + letters
        daemon = Daemon(folder, url, sink.port, args.pool, f"web-{phase}")
        try:
            sink.wait_for(sink.count + min(letters, 50), 120, [daemon])
            for endpoint, path in (("healthz", "/healthz"), ("pixel", f"/o/{token}.gif")):
                found[f"{endpoint} {phase}"] = wrk_p99(f"http://127.0.0.1:{daemon.port}{path}", args)
            if phase == "busy" and sink.count >= target:  # honest only if the batch outlasted wrk
                PROBLEMS.append("the busy batch ended before wrk did: raise --busy-letters")
        finally:
            PROBLEMS.extend(daemon.stop())
    return found


PROBLEMS: list[str] = []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--letters", type=int, default=4000)
    parser.add_argument("--busy-letters", type=int, default=6000)
    parser.add_argument("--seconds", type=int, default=10, help="each wrk run (p99 of ~1,500 requests)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--pool", type=int, default=8, help="SMTP connections per daemon")
    parser.add_argument("--domains", type=int, default=8)
    parser.add_argument("--keep-logs", action="store_true", help="keep the daemons' logs; print where")
    args = parser.parse_args()
    # Our own settings must be the daemons': no REACTIVATOR_* from the shell, no config file in cwd.
    for key in [k for k in os.environ if k.startswith("REACTIVATOR_")]:
        del os.environ[key]
    folder = Path(tempfile.mkdtemp(prefix="reactivator-bench-daemon-"))
    os.chdir(folder)
    name = f"reactivator_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    sink = Sink()
    try:
        Database(url).upgrade()
        busy = machine_busy()
        one, two = (throughput(folder, url, sink, args, n) for n in (1, 2))
        web = latency(folder, url, sink, args)
        web["bare"] = floor(args)
    finally:
        sink.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if args.keep_logs:
            print(f"daemon logs in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"reactivator daemon on PostgreSQL into smtp-sink, pool {args.pool} per daemon (one run; ", end="")
    print(f"{os.cpu_count()} cores, {busy:.0%} busy before we started)")
    print(f"{'throughput, ' + str(args.letters) + ' letters':46s} letters/s  ratio  CPU s/1k  sent by each")
    for n, (rate, cpu, shares) in ((1, one), (2, two)):
        label = "1 daemon (reference)" if n == 1 else "2 daemons, same queue"
        print(f"  {label:44s} {rate:9.0f}  {rate / one[0]:5.2f}  {cpu:8.1f}  {shares}")
    print(f"web p99, wrk -t1 -c{args.connections} -d{args.seconds}s on loopback   p99 ms  ratio     req/s")
    for label, key, ref in (
        ("floor: bare uvicorn + Starlette /healthz", "bare", "bare"),
        ("/healthz, daemon idle", "healthz idle", "bare"),
        (f"/healthz, daemon sending {args.busy_letters}", "healthz busy", "healthz idle"),
        ("/o/<token>.gif (writes an open), idle", "pixel idle", "pixel idle"),
        (f"/o/<token>.gif, daemon sending {args.busy_letters}", "pixel busy", "pixel idle"),
    ):
        (p99, rps), against = web[key], web[ref][0]
        print(f"  {label:44s} {p99:9.2f}  {p99 / against:5.2f}  {rps:8.0f}  (vs {ref})")
    print("target: busy / idle <= 3 for each endpoint")
    for problem in PROBLEMS:
        print(f"problem: {problem}")


if __name__ == "__main__":
    main()
