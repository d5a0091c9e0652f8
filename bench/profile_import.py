"""Where `reactivator import orders` spends its time: cProfile of import_file, in-process.

    .venv/bin/python bench/profile_import.py [--customers 100000 --orders 500000] [--rows 200000] [--top 30]

Builds a fresh database in bench/data/, imports the customers (not profiled), then profiles
`reactivator.service.imports.import_file` on the first --rows orders of the generated file
and prints the top functions by own time and by cumulative time. Also times the pure-Python
stages (CSV reading, row parsing) on their own, without any database, for comparison.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import sys
import time
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
sys.path.insert(0, str(BENCH))
from engine import freeze_code, use_code  # noqa: E402
from generate import DEFAULT_NOW, DEFAULT_SEED, generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--orders", type=int, default=500_000)
    ap.add_argument("--rows", type=int, default=200_000, help="orders to import under the profiler")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--code", default="worktree", help="as for engine.py: 'worktree' or a git rev")
    ap.add_argument("--batch-size", type=int, help="experiment: REACTIVATOR_IMPORTS__BATCH_SIZE")
    ap.add_argument(
        "--pragma",
        action="append",
        default=[],
        help="experiment: extra PRAGMA on every connection, e.g. cache_size=-262144",
    )
    ap.add_argument("--no-profile", action="store_true", help="only the unprofiled timings")
    a = ap.parse_args(argv)
    DATA.mkdir(parents=True, exist_ok=True)
    os.chdir(DATA)
    cust_csv, ord_csv = generate(DATA, a.customers, a.orders, DEFAULT_NOW, DEFAULT_SEED)
    part = DATA / f"orders_head_{a.rows}.csv"
    with ord_csv.open() as src, part.open("w") as dst:
        dst.writelines(itertools.islice(src, a.rows + 1))
    db = DATA / "profile.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    snap, label = freeze_code(a.code)
    use_code(snap)
    print(f"code: {label}")
    os.environ["REACTIVATOR_DATABASE__URL"] = f"sqlite:///{db}"
    os.environ.pop("REACTIVATOR_CONFIG", None)
    if a.batch_size:
        os.environ["REACTIVATOR_IMPORTS__BATCH_SIZE"] = str(a.batch_size)

    from reactivator.service.app import open_app
    from reactivator.service.imports import NATIVE, ImportKind, format_named, import_file
    from reactivator.service.imports.readers import read_rows
    from reactivator.service.imports.rows import parse_order

    now = datetime.fromisoformat(DEFAULT_NOW)
    app = open_app(require_schema=False)
    if a.pragma:
        from sqlalchemy import event

        @event.listens_for(app.db.engine, "connect")
        def _extra(dbapi_conn: object, _record: object) -> None:
            for pragma in a.pragma:
                dbapi_conn.execute(f"PRAGMA {pragma}")  # type: ignore[attr-defined]

        print(f"extra pragmas: {a.pragma}")
    if a.batch_size:
        print(f"imports.batch_size = {app.settings.imports.batch_size}")
    app.db.upgrade()
    t0 = time.perf_counter()
    import_file(app, ImportKind.CUSTOMERS, cust_csv, now)
    print(f"customers imported (unprofiled) in {time.perf_counter() - t0:.1f}s")

    # Pure-Python stages alone: read the CSV, then read + parse.
    t0 = time.perf_counter()
    n = sum(1 for _ in read_rows(part, format_named(ImportKind.ORDERS, NATIVE).required))
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    for raw in read_rows(part, format_named(ImportKind.ORDERS, NATIVE).required):
        if raw.line:
            parse_order(raw.fields, "USD")
    t_parse = time.perf_counter() - t0
    t0 = time.perf_counter()
    import_file(app, ImportKind.ORDERS, part, now)  # unprofiled, for the true rate
    t_import = time.perf_counter() - t0
    print(
        f"{a.rows:,} orders: read_rows {t_read:.2f}s ({n / t_read:,.0f}/s), read+parse_order {t_parse:.2f}s "
        f"({a.rows / t_parse:,.0f}/s), full import_file {t_import:.2f}s ({a.rows / t_import:,.0f}/s)"
    )

    if a.no_profile:
        return 0
    # Re-import the same orders into a fresh orders table, this time under the profiler.
    with app.db.write() as conn:
        conn.exec_driver_sql("DELETE FROM orders")
        conn.exec_driver_sql(
            "UPDATE customers SET orders_count=0, revenue_cents=0, annual_value_cents=0, "
            "first_purchase_at=NULL, last_purchase_at=NULL"
        )
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    import_file(app, ImportKind.ORDERS, part, now)
    prof.disable()
    print(f"profiled import_file: {time.perf_counter() - t0:.2f}s (profiler overhead included)")
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).strip_dirs().sort_stats(key).print_stats(a.top)
        text = out.getvalue()
        print(f"\n---- top {a.top} by {key} ----")
        print(text[text.index("   ncalls") :])
    prof.dump_stats(str(DATA / "import_orders.prof"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
