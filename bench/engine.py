"""Engine benchmark: reactivator against bare SQLite on the same machine, in one run.

    .venv/bin/python bench/engine.py [--customers 1000000 --orders 5000000] [--real-run both|pass|cli|skip]

Figures (each printed as ours / reference, with its target):
  a. import   orders/s of `reactivator import orders` vs the sqlite3 shell's `.import --csv`
              of the same file into a plain table of a fresh database        (target >= 0.2)
  b. segments `reactivator.service.reporting.segments` in-process vs a bare indexed
              SELECT count(*) ... WHERE last_purchase_at <= ?                 (target <= 1.5)
              (the `reactivator segments --json` CLI time is reported too)
  c. dry run  `reactivator.service.passes.plan_pass` vs the bare dormant-id query fetched
              fully                                                         (target <= 4)
              and the peak RSS of `reactivator run --dry-run --limit 30`   (target < 400 MB)
  d. real run `passes.enroll_and_queue` in-process (on a copy of the database) and/or the
              `reactivator run` CLI (enroll, queue and send to the in-memory mailer), seconds.

Fast queries are timed best of --repeat (default 3) after one warm-up call. Data comes from
bench/generate.py (reused when already generated with the same arguments); the databases
live in bench/data/ and are recreated on every run. The package is measured from a private
copy (bench/data/code/, see --code), so edits made to reactivator/ during a run cannot mix
versions. Settings: the shipped config/reactivator.toml (if present) with the database URL
from REACTIVATOR_DATABASE__URL; commands run with bench/data/ as the working directory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "reactivator")
SQLITE3 = shutil.which("sqlite3") or "/usr/bin/sqlite3"

sys.path.insert(0, str(BENCH))
from generate import DEFAULT_NOW, DEFAULT_SEED, generate  # noqa: E402

STORED = "%Y-%m-%d %H:%M:%S.%f"


def freeze_code(rev: str) -> tuple[Path, str]:
    """A private copy of the package for this run, so that edits made to reactivator/ while
    the bench runs cannot mix two versions into one set of figures. `rev` is "worktree"
    (the files as they are now, uncommitted edits included) or a git revision.
    Returns the directory to put first on PYTHONPATH and a description of the code."""
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "reactivator"], capture_output=True, text=True
    ).stdout.strip()
    snap = DATA / "code"
    shutil.rmtree(snap, ignore_errors=True)
    snap.mkdir(parents=True)
    if rev == "worktree":
        shutil.copytree(
            ROOT / "reactivator", snap / "reactivator", ignore=shutil.ignore_patterns("__pycache__")
        )
        label = f"worktree at {head}" + (" + uncommitted edits" if dirty else "")
    else:
        sha = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True, text=True, check=True
        ).stdout.strip()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", sha, "reactivator"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(snap)], input=archive, check=True)
        label = f"git {sha}"
    return snap, label


def use_code(snap: Path) -> None:
    """Make this process and its children import the frozen package."""
    sys.path.insert(0, str(snap))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(snap), os.environ.get("PYTHONPATH")]))
    import reactivator

    assert Path(reactivator.__file__).is_relative_to(snap), (
        reactivator.__file__
    )  # how SQLAlchemy's SQLite DateTime stores naive UTC


@dataclass
class Proc:
    seconds: float
    maxrss_mb: float
    rc: int
    stdout: str
    stderr: str
    timed_out: bool = False


def run_proc(
    cmd: list[str], env: dict[str, str] | None = None, timeout: float | None = None, mem_mb: int | None = None
) -> Proc:
    """Run a command; wall time and this child's own peak RSS (wait4), not any earlier child's.

    `mem_mb` caps the child's address space (it then fails with MemoryError instead of
    taking the machine down); `timeout` kills it."""
    out_path, err_path = DATA / ".proc.out", DATA / ".proc.err"

    def limit() -> None:
        if mem_mb:
            resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))

    with out_path.open("w") as out, err_path.open("w") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, cwd=DATA, stdout=out, stderr=err, preexec_fn=limit)
        fired = threading.Event()

        def kill() -> None:
            fired.set()
            p.kill()

        timer = threading.Timer(timeout, kill) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(p.pid, 0)
        seconds = time.perf_counter() - t0
        if timer:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    return Proc(
        seconds,
        usage.ru_maxrss / 1024,
        p.returncode,
        out_path.read_text(),
        err_path.read_text(),
        fired.is_set(),
    )


def check(proc: Proc, what: str) -> Proc:
    if proc.rc != 0 and not proc.timed_out:
        sys.exit(f"{what} failed (exit {proc.rc}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up: SQLAlchemy's statement cache, the page cache
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def fresh(db: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=5_000_000)
    ap.add_argument("--now", default=DEFAULT_NOW)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timed calls")
    ap.add_argument(
        "--real-run",
        choices=("both", "pass", "cli", "skip"),
        default="both",
        help="d: in-process enroll_and_queue on a copy (pass), the full `reactivator run` (cli)",
    )
    ap.add_argument(
        "--run-timeout", type=float, default=900.0, help="seconds before `reactivator run` is cut"
    )
    ap.add_argument(
        "--run-mem-mb",
        type=int,
        default=8192,
        help="address-space cap for `reactivator run` (an earlier in-memory mailer kept every letter)",
    )
    ap.add_argument(
        "--code",
        default="worktree",
        help="the package to measure: 'worktree' (a copy of reactivator/ as it is at start) or a git rev",
    )
    ap.add_argument(
        "--reuse-db",
        action="store_true",
        help="skip the imports (a) and reuse this scale's database (after --real-run cli/both it holds "
        "that run's enrollments, which changes b and c)",
    )
    a = ap.parse_args(argv)
    t_start = time.perf_counter()
    DATA.mkdir(parents=True, exist_ok=True)
    os.chdir(DATA)

    tag = f"{a.customers}c_{a.orders}o"
    db = DATA / f"bench_{tag}.db"
    ref_db = DATA / f"ref_{tag}.db"
    url = f"sqlite:///{db}"
    # The shipped config (if present), with the database taken from the environment.
    shipped = ROOT / "config" / "reactivator.toml"
    os.environ.pop("REACTIVATOR_CONFIG", None)
    if shipped.is_file():
        os.environ["REACTIVATOR_CONFIG"] = str(shipped)
    os.environ["REACTIVATOR_DATABASE__URL"] = url
    env = dict(os.environ)
    now_arg = a.now
    now = datetime.fromisoformat(a.now)
    r: dict[str, Any] = {"customers": a.customers, "orders": a.orders, "now": a.now}
    snap, r["commit"] = freeze_code(a.code)
    use_code(snap)
    probe = run_proc([str(VENV_BIN / "python"), "-c", "import reactivator; print(reactivator.__file__)"])
    assert probe.stdout.startswith(str(snap)), probe.stdout
    r["config"] = os.environ.get("REACTIVATOR_CONFIG", "defaults")

    log(f"data: {a.customers:,} customers, {a.orders:,} orders (seed {a.seed}, now {a.now})")
    t0 = time.perf_counter()
    cust_csv, ord_csv = generate(DATA, a.customers, a.orders, a.now, a.seed)
    r["generate_s"] = time.perf_counter() - t0
    log(f"  {cust_csv.name}, {ord_csv.name} ready in {r['generate_s']:.1f}s")

    # ---- a. import -----------------------------------------------------------------------
    if not a.reuse_db or not db.exists():
        fresh(db)
        # Older versions took --now for the import's timestamps; newer ones always stamp the real time.
        helptext = run_proc([CLI, "import", "orders", "--help"], env).stdout
        stamp = ["--now", now_arg] if "--now" in helptext else []
        check(run_proc([CLI, "db", "upgrade"], env), "db upgrade")
        log("import customers ...")
        p = check(
            run_proc([CLI, "import", "customers", str(cust_csv), *stamp, "--json"], env),
            "import customers",
        )
        summary = json.loads(p.stdout)
        assert summary["inserted"] == a.customers, summary
        assert summary["rejected"] == 0, summary
        r["import_customers_s"] = p.seconds
        r["import_customers_rss_mb"] = p.maxrss_mb
        log(f"  {a.customers / p.seconds:,.0f} customers/s ({p.seconds:.1f}s, peak RSS {p.maxrss_mb:.0f} MB)")

        log("import orders ...")
        p = check(
            run_proc([CLI, "import", "orders", str(ord_csv), *stamp, "--json"], env),
            "import orders",
        )
        summary = json.loads(p.stdout)
        assert summary["inserted"] == a.orders, summary
        assert summary["rejected"] == 0, summary
        r["import_orders_s"] = p.seconds
        r["import_orders_rss_mb"] = p.maxrss_mb
        r["ours_orders_per_s"] = a.orders / p.seconds
        log(f"  {r['ours_orders_per_s']:,.0f} orders/s ({p.seconds:.1f}s, peak RSS {p.maxrss_mb:.0f} MB)")

        log(f"reference: sqlite3 .import --csv into a plain table, best of {a.repeat} ...")
        ref_times = []
        for _ in range(a.repeat):
            fresh(ref_db)
            p = check(run_proc([SQLITE3, str(ref_db), f".import --csv {ord_csv} orders"]), "sqlite3 .import")
            ref_times.append(p.seconds)
        n = sqlite3.connect(ref_db).execute("SELECT count(*) FROM orders").fetchone()[0]
        assert n == a.orders, n
        fresh(ref_db)
        r["ref_import_s"] = min(ref_times)
        r["ref_orders_per_s"] = a.orders / r["ref_import_s"]
        r["import_ratio"] = r["ours_orders_per_s"] / r["ref_orders_per_s"]
        log(f"  {r['ref_orders_per_s']:,.0f} orders/s (runs: {', '.join(f'{t:.2f}s' for t in ref_times)})")
    else:
        log(f"reusing {db.name}: import figures skipped")
    r["db_mb"] = db.stat().st_size / 1e6

    # ---- in-process handles ----------------------------------------------------------------
    from reactivator.core.plan import pass_parameters
    from reactivator.core.value import ClassCutoffs
    from reactivator.service import passes
    from reactivator.service.app import open_app
    from reactivator.service.reporting import segments as reporting

    app = open_app()
    raw = sqlite3.connect(db)
    days = app.settings.segments.tiers
    params = pass_parameters(app.policy, now, ClassCutoffs(1, 1))

    def stored(d: datetime) -> str:
        return d.astimezone(UTC).replace(tzinfo=None).strftime(STORED)

    seg_param = stored(now - timedelta(days=days[0]))
    plan_param = stored(params.earliest_cutoff)

    # ---- b. segments -------------------------------------------------------------------------
    log(f"segments: in-process reporting.segments vs bare count, best of {a.repeat} ...")
    bare_count_sql = "SELECT count(*) FROM customers WHERE last_purchase_at <= ?"
    r["bare_count_plan"] = " | ".join(
        row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + bare_count_sql, (seg_param,))
    )
    r["bare_count_s"], bare_n = best_of(
        lambda: raw.execute(bare_count_sql, (seg_param,)).fetchone()[0], a.repeat
    )
    r["segments_s"], report = best_of(lambda: reporting.segments(app, now), a.repeat)
    seg_n = sum(t.customers for t in report.tiers)
    assert seg_n == bare_n, (seg_n, bare_n)
    r["dormant_90"] = bare_n
    r["segments_ratio"] = r["segments_s"] / r["bare_count_s"]
    cli_times = []
    for _ in range(a.repeat):
        p = check(run_proc([CLI, "segments", "--now", now_arg, "--json"], env), "segments CLI")
        cli_times.append(p.seconds)
    r["segments_cli_s"] = min(cli_times)
    startup = [check(run_proc([CLI, "db", "status"], env), "db status").seconds for _ in range(a.repeat)]
    r["cli_startup_s"] = min(startup)
    log(
        f"  {bare_n:,} dormant 90+ days; ours {r['segments_s'] * 1e3:.1f} ms, "
        f"bare {r['bare_count_s'] * 1e3:.1f} ms,"
        f" CLI {r['segments_cli_s']:.2f}s (`db status` {r['cli_startup_s']:.2f}s)"
    )

    # ---- c. dry run --------------------------------------------------------------------------
    log(f"dry run: passes.plan_pass vs bare dormant ids fetched fully, best of {a.repeat} ...")
    bare_ids_sql = "SELECT id FROM customers WHERE last_purchase_at <= ?"
    r["bare_ids_s"], ids = best_of(lambda: raw.execute(bare_ids_sql, (plan_param,)).fetchall(), a.repeat)
    r["plan_pass_s"], plan = best_of(lambda: passes.plan_pass(app, now), a.repeat)
    planned = sum(d.customers for d in plan.decisions)
    assert planned == len(ids), (planned, len(ids))
    r["plan_due"] = plan.due()
    r["plan_decisions"] = {f"{d.verdict.value}/{d.step_key}": d.customers for d in plan.decisions}
    r["dry_ratio"] = r["plan_pass_s"] / r["bare_ids_s"]
    p = check(run_proc([CLI, "run", "--dry-run", "--now", now_arg, "--limit", "30"], env), "run --dry-run")
    r["dry_cli_s"], r["dry_cli_rss_mb"] = p.seconds, p.maxrss_mb
    log(
        f"  {len(ids):,} candidates, {plan.due():,} due; ours {r['plan_pass_s'] * 1e3:.0f} ms, bare "
        f"{r['bare_ids_s'] * 1e3:.0f} ms; CLI {p.seconds:.2f}s, peak RSS {p.maxrss_mb:.0f} MB"
    )
    raw.close()
    app.db.dispose()

    # ---- d. real run -------------------------------------------------------------------------
    if a.real_run in ("both", "pass"):
        copy = DATA / f"pass_{tag}.db"
        fresh(copy)
        with sqlite3.connect(db) as src:
            src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(db, copy)
        log("real pass in-process: passes.enroll_and_queue on a copy ...")
        from reactivator.service.app import open_app as _open

        copy_app = _open(database={"url": f"sqlite:///{copy}"})
        t0 = time.perf_counter()
        rep = passes.enroll_and_queue(copy_app, now)
        r["pass_s"] = time.perf_counter() - t0
        assert rep.writes is not None
        r["pass_enrolled"], r["pass_queued"] = rep.writes.enrolled, rep.writes.queued
        copy_app.db.dispose()
        fresh(copy)
        log(f"  enrolled {rep.writes.enrolled:,}, queued {rep.writes.queued:,} in {r['pass_s']:.1f}s")
    if a.real_run in ("both", "cli"):
        log(f"real run: `reactivator run --now {now_arg} --json` (timeout {a.run_timeout:.0f}s) ...")
        p = run_proc(
            [CLI, "run", "--now", now_arg, "--json"], env, timeout=a.run_timeout, mem_mb=a.run_mem_mb
        )
        r["run_cli_s"], r["run_cli_rss_mb"], r["run_cli_timed_out"] = p.seconds, p.maxrss_mb, p.timed_out
        r["run_cli_rc"] = p.rc
        if p.rc != 0 and not p.timed_out:
            r["run_cli_error"] = (p.stderr.strip().splitlines() or ["?"])[-1][:200]
        with sqlite3.connect(db) as conn:
            r["run_letters"] = dict(
                conn.execute("SELECT status, count(*) FROM letters GROUP BY status").fetchall()
            )
            r["run_enrollments"] = conn.execute("SELECT count(*) FROM enrollments").fetchone()[0]
        if p.rc == 0:
            r["run_sent"] = json.loads(p.stdout)["sent"]["sent"]
        state = "CUT at timeout" if p.timed_out else "done" if p.rc == 0 else f"FAILED: {r['run_cli_error']}"
        log(
            f"  {state} after {p.seconds:.1f}s: {r['run_enrollments']:,} enrollments, "
            f"letters {r['run_letters']}"
        )

    r["total_s"] = time.perf_counter() - t_start
    (DATA / f"results_{tag}.json").write_text(json.dumps(r, indent=2, default=str))
    print_table(r)
    return 0


def print_table(r: dict[str, Any]) -> None:
    def ok(good: bool) -> str:
        return "ok" if good else "MISSED"

    rows: list[tuple[str, str, str, str, str]] = []
    if "import_ratio" in r:
        rows.append(
            (
                "a import orders/s",
                f"{r['ours_orders_per_s']:,.0f}",
                f"{r['ref_orders_per_s']:,.0f}",
                f"{r['import_ratio']:.3f}",
                f">= 0.2  {ok(r['import_ratio'] >= 0.2)}",
            )
        )
    rows.append(
        (
            "b segments (in-process)",
            f"{r['segments_s'] * 1e3:.1f} ms",
            f"{r['bare_count_s'] * 1e3:.1f} ms",
            f"{r['segments_ratio']:.2f}",
            f"<= 1.5  {ok(r['segments_ratio'] <= 1.5)}",
        )
    )
    rows.append(
        (
            "b segments CLI --json",
            f"{r['segments_cli_s']:.2f} s",
            f"{r['bare_count_s'] * 1e3:.1f} ms",
            f"{r['segments_cli_s'] / r['bare_count_s']:.1f}",
            f"(info; CLI startup {r['cli_startup_s']:.2f} s)",
        )
    )
    rows.append(
        (
            "c dry run plan_pass",
            f"{r['plan_pass_s'] * 1e3:.0f} ms",
            f"{r['bare_ids_s'] * 1e3:.0f} ms",
            f"{r['dry_ratio']:.2f}",
            f"<= 4    {ok(r['dry_ratio'] <= 4)}",
        )
    )
    rows.append(
        (
            "c run --dry-run peak RSS",
            f"{r['dry_cli_rss_mb']:.0f} MB",
            "",
            "",
            f"< 400 MB {ok(r['dry_cli_rss_mb'] < 400)} ({r['dry_cli_s']:.2f} s)",
        )
    )
    if "pass_s" in r:
        rows.append(
            (
                "d enroll_and_queue",
                f"{r['pass_s']:.1f} s",
                "",
                "",
                f"enrolled {r['pass_enrolled']:,}, queued {r['pass_queued']:,}",
            )
        )
    if "run_cli_s" in r:
        sent = r["run_letters"].get("sent", 0)
        if r["run_cli_timed_out"]:
            note = f"CUT at timeout, {sent:,} sent"
        elif r["run_cli_rc"] == 0:
            note = f"sent {r['run_sent']:,}"
        else:
            note = f"FAILED ({r['run_cli_error'][:60]}), {sent:,} sent"
        rows.append(
            (
                "d reactivator run (CLI)",
                f"{r['run_cli_s']:.1f} s",
                "",
                "",
                f"{note}; peak RSS {r['run_cli_rss_mb']:.0f} MB",
            )
        )
    head = ("figure", "ours", "reference", "ratio", "target")
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(5)]
    print(
        f"\n=== reactivator engine bench: {r['customers']:,} customers, {r['orders']:,} orders, "
        f"now {r['now']}; code {r['commit']}, config {r['config']} ==="
    )
    for row in [head, *rows]:
        print(
            "  ".join(
                c.ljust(w) if i in (0, 4) else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    extra = []
    if "import_customers_s" in r:
        extra.append(
            f"customers import {r['customers'] / r['import_customers_s']:,.0f}/s "
            f"({r['import_customers_s']:.1f} s); orders import {r['import_orders_s']:.1f} s, "
            f"peak RSS {r['import_orders_rss_mb']:.0f} MB; sqlite3 .import {r['ref_import_s']:.2f} s"
        )
    extra.append(
        f"dormant 90+ days: {r['dormant_90']:,} of {r['customers']:,} "
        f"({r['dormant_90'] / r['customers']:.0%}); due now: {r['plan_due']:,}; db {r['db_mb']:.0f} MB"
    )
    extra.append(f"bare count plan: {r['bare_count_plan']}")
    extra.append(f"total bench wall time {r['total_s']:.0f} s")
    for line in extra:
        print(line)


if __name__ == "__main__":
    raise SystemExit(main())
