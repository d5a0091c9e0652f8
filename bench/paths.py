"""Where a shop feels speed: import, segments and the dry-run trace, each against a bare reference.

    .venv/bin/python bench/paths.py [--customers 300000 --orders 1500000] [--rounds 5]
        [--import-rounds 2] [--skip-import]

Every path is measured twice, as a user runs it and in process, against its reference
measured in the same round; rounds interleave ours and the reference, and the table shows
the median of the per-round ratios (ours / reference; for the import, rates: ours / theirs).

  import   `reactivator import orders FILE` into a database holding the customers
           vs the sqlite3 shell's `.import --csv` of the same file into a plain table   (>= 0.2)
           in process: service.imports.import_file vs the same shell import
  segments `reactivator segments --json` vs `sqlite3 DB "SELECT count(*) ... <= cutoff"`  (<= 3)
           in process: service.reporting.segments vs that count on a raw sqlite3 connection (<= 1.5)
  dry run  `reactivator run --dry-run --json > file` (every dormant customer's decision)
           vs `sqlite3 DB "SELECT id FROM customers WHERE last_purchase_at <= cutoff" > file`
           in process: service.passes.trace_lines read fully vs that select fetched fully (<= 8)

Data comes from bench/generate.py; databases live in bench/data/. The package is measured
from a private copy (see engine.py's --code), so edits during a run cannot mix versions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from engine import CLI, DATA, ROOT, SQLITE3, STORED, check, freeze_code, fresh, log, run_proc, use_code  # noqa: E402
from generate import DEFAULT_NOW, DEFAULT_SEED, generate  # noqa: E402


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_ratio(pairs: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(median of ours/theirs per round, median ours, median theirs)."""
    return (
        statistics.median(a / b for a, b in pairs),
        statistics.median(a for a, _ in pairs),
        statistics.median(b for _, b in pairs),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=300_000)
    ap.add_argument("--orders", type=int, default=1_500_000)
    ap.add_argument("--now", default=DEFAULT_NOW)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds for segments and the dry run")
    ap.add_argument("--import-rounds", type=int, default=2, help="interleaved rounds for the import")
    ap.add_argument("--skip-import", action="store_true", help="reuse the database of an earlier run")
    ap.add_argument("--code", default="worktree", help="'worktree' or a git revision")
    ap.add_argument(
        "--postgres",
        metavar="URL",
        help="also the import on PostgreSQL (a server URL such as postgresql://postgres@127.0.0.1; "
        "the bench creates and drops its own database), against psql's \\copy into a plain table",
    )
    a = ap.parse_args(argv)
    DATA.mkdir(parents=True, exist_ok=True)
    os.chdir(DATA)
    snap, code = freeze_code(a.code)
    use_code(snap)

    tag = f"{a.customers}c_{a.orders}o"
    db, base, ref_db = (
        DATA / f"paths_{tag}.db",
        DATA / f"paths_customers_{tag}.db",
        DATA / f"paths_ref_{tag}.db",
    )
    shipped = ROOT / "config" / "reactivator.toml"
    os.environ["REACTIVATOR_CONFIG"] = str(shipped)
    os.environ["REACTIVATOR_DATABASE__URL"] = f"sqlite:///{db}"
    env = dict(os.environ)
    now = datetime.fromisoformat(a.now)
    cust_csv, ord_csv = generate(DATA, a.customers, a.orders, a.now, a.seed)
    log(f"{a.customers:,} customers, {a.orders:,} orders; code {code}")
    rows: list[tuple[str, tuple[float, float, float], str, str]] = []

    # ---- import ------------------------------------------------------------------------------
    if not a.skip_import or not db.exists():
        fresh(base)
        base_env = {**env, "REACTIVATOR_DATABASE__URL": f"sqlite:///{base}"}
        check(run_proc([CLI, "db", "upgrade"], base_env), "db upgrade")
        check(run_proc([CLI, "import", "customers", str(cust_csv)], base_env), "import customers")
        with sqlite3.connect(base) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        def reference_import() -> float:
            fresh(ref_db)
            seconds = check(
                run_proc([SQLITE3, str(ref_db), f".import --csv {ord_csv} orders"]), "sqlite3 .import"
            ).seconds
            fresh(ref_db)
            return seconds

        cli_pairs, inproc_pairs = [], []
        for r in range(a.import_rounds):
            fresh(db)
            shutil.copyfile(base, db)
            p = check(run_proc([CLI, "import", "orders", str(ord_csv), "--json"], env), "import orders")
            theirs = reference_import()
            cli_pairs.append((theirs, p.seconds))  # rates: ours/theirs = their time / our time
            fresh(db)
            shutil.copyfile(base, db)
            ours = _import_in_process(db, ord_csv, now)  # leaves the database the rest reads
            theirs_again = reference_import()
            inproc_pairs.append((theirs_again, ours))
            log(
                f"  round {r + 1}: CLI {p.seconds:.1f}s (peak RSS {p.maxrss_mb:.0f} MB), in process "
                f"{ours:.1f}s; sqlite3 .import {theirs:.2f}s, {theirs_again:.2f}s"
            )
        rows.append(("import orders, CLI (rate)", median_ratio(cli_pairs), ">= 0.2", "higher"))
        rows.append(("import orders, in process (rate)", median_ratio(inproc_pairs), ">= 0.2", "higher"))

    if a.postgres:
        pairs = [_postgres_import_round(a.postgres, cust_csv, ord_csv, env) for _ in range(a.import_rounds)]
        rows.append(("import orders, CLI, PostgreSQL (rate)", median_ratio(pairs), ">= 0.2", "higher"))

    # ---- segments and the dry run --------------------------------------------------------------
    from reactivator.core.plan import pass_parameters
    from reactivator.core.value import ClassCutoffs
    from reactivator.service import passes
    from reactivator.service.app import open_app
    from reactivator.service.reporting.segments import segments

    app = open_app()
    raw = sqlite3.connect(db)

    def stored(d: datetime) -> str:
        return d.astimezone(UTC).replace(tzinfo=None).strftime(STORED)

    tier = stored(now - timedelta(days=app.settings.segments.tiers[0]))
    earliest = stored(pass_parameters(app.policy, now, ClassCutoffs(1, 1)).earliest_cutoff)
    count_sql = f"SELECT count(*) FROM customers WHERE last_purchase_at <= '{tier}'"
    ids_sql = f"SELECT id FROM customers WHERE last_purchase_at <= '{earliest}'"

    def trace_all() -> int:
        with passes.trace_lines(app, now) as chunks:
            return sum(len(chunk) for chunk in chunks)

    seg_in, seg_cli, dry_in, dry_cli = [], [], [], []
    out = DATA / ".trace.jsonl"
    for _ in range(2):  # warm-up: the page cache, SQLAlchemy's statement cache
        segments(app, now)
        trace_all()
    lines = 0
    for _ in range(a.rounds):
        seg_in.append((timed(lambda: segments(app, now)), timed(lambda: raw.execute(count_sql).fetchone())))
        ours = check(run_proc([CLI, "segments", "--now", a.now, "--json"], env), "segments").seconds
        seg_cli.append((ours, check(run_proc([SQLITE3, str(db), count_sql]), "sqlite3 count").seconds))
        dry_in.append((timed(trace_all), timed(lambda: raw.execute(ids_sql).fetchall())))
        ours = check(
            _to_file([CLI, "run", "--dry-run", "--json", "--now", a.now], env, out), "dry run"
        ).seconds
        lines = sum(1 for _ in out.open())
        theirs = check(_to_file([SQLITE3, str(db), ids_sql], env, out), "sqlite3 ids").seconds
        dry_cli.append((ours, theirs))
    ids = len(raw.execute(ids_sql).fetchall())
    assert lines == ids, (lines, ids)  # the trace has a line for every dormant customer
    rows.append(("segments, in process", median_ratio(seg_in), "<= 1.5", "lower"))
    rows.append(("segments, CLI", median_ratio(seg_cli), "<= 3", "lower"))
    rows.append(("dry-run trace, in process", median_ratio(dry_in), "<= 8", "lower"))
    rows.append(("dry-run trace, CLI", median_ratio(dry_cli), "<= 8", "lower"))
    out.unlink(missing_ok=True)

    print(
        f"\n=== reactivator paths: {a.customers:,} customers ({ids:,} dormant), {a.orders:,} orders; "
        f"code {code}; medians of per-round ratios ==="
    )
    print(f"{'path':34} {'ours':>10} {'reference':>10} {'ratio':>7}  target")
    for name, (ratio, ours_s, theirs_s), target, better in rows:
        if better == "higher":  # a rate: the pair holds (their time, our time)
            ours_s, theirs_s = theirs_s, ours_s
        limit = float(target.split()[1])
        met = ratio >= limit if better == "higher" else ratio <= limit
        print(
            f"{name:34} {_secs(ours_s):>10} {_secs(theirs_s):>10} {ratio:7.3f}  {target:7} "
            f"{'met' if met else 'MISSED'}"
        )
    return 0


PG_DATABASE = "reactivator_bench_paths"


def _postgres_import_round(
    server: str, cust_csv: Path, ord_csv: Path, env: dict[str, str]
) -> tuple[float, float]:
    """(psql \\copy seconds, `reactivator import orders` seconds) on a fresh PostgreSQL database."""
    psql = shutil.which("psql") or "/usr/bin/psql"
    admin = f"{server.rstrip('/')}/postgres"
    target = f"{server.rstrip('/')}/{PG_DATABASE}"
    for sql in (f"DROP DATABASE IF EXISTS {PG_DATABASE}", f"CREATE DATABASE {PG_DATABASE}"):
        check(run_proc([psql, admin, "-qc", sql]), "psql")
    pg_env = {**env, "REACTIVATOR_DATABASE__URL": target.replace("postgresql://", "postgresql+psycopg://", 1)}
    check(run_proc([CLI, "db", "upgrade"], pg_env), "db upgrade (PostgreSQL)")
    check(run_proc([CLI, "import", "customers", str(cust_csv)], pg_env), "import customers (PostgreSQL)")
    ours = check(
        run_proc([CLI, "import", "orders", str(ord_csv)], pg_env), "import orders (PostgreSQL)"
    ).seconds
    table = "CREATE TABLE ref_orders (id text, customer_id text, placed_at text, amount text, currency text)"
    check(run_proc([psql, target, "-qc", table]), "psql")
    theirs = check(
        run_proc([psql, target, "-qc", f"\\copy ref_orders FROM '{ord_csv}' WITH (FORMAT csv, HEADER true)"]),
        "psql \\copy",
    ).seconds
    check(run_proc([psql, admin, "-qc", f"DROP DATABASE {PG_DATABASE}"]), "psql")
    log(f"  PostgreSQL: CLI {ours:.1f}s, psql \\copy {theirs:.2f}s")
    return theirs, ours


def _secs(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def _import_in_process(db: Path, csv: Path, now: datetime) -> float:
    """import_file in this process, on its own connection pool (closed afterwards)."""
    from reactivator.service.app import open_app
    from reactivator.service.imports import ImportKind, import_file

    app = open_app(database={"url": f"sqlite:///{db}"})
    try:
        t0 = time.perf_counter()
        summary = import_file(app, ImportKind.ORDERS, csv, now)
        seconds = time.perf_counter() - t0
        assert summary.rejected == 0, summary.first_rejects
        return seconds
    finally:
        app.db.dispose()


def _to_file(cmd: list[str], env: dict[str, str], out: Path) -> Any:
    """Run with stdout to a file (a shell's `> file`), timed like run_proc."""
    import subprocess

    with out.open("w") as sink:
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, cwd=DATA, stdout=sink, stderr=subprocess.PIPE, text=True)
        seconds = time.perf_counter() - t0
    from engine import Proc

    return Proc(seconds, 0.0, p.returncode, "", p.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
