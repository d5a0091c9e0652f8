"""Recommendations benchmark: a real pass with a product catalog against the same pass without one.

    .venv/bin/python bench/recommend.py [--customers 1000000] [--lines 5000000] [--products 2000]

One SQLite shop is written straight into a migrated database (bulk inserts, so
that the set-up takes a minute, not the import path's hour): customers with
their aggregates, orders spread over two years, and on average 2.2 lines an
order drawn from a catalog whose products cluster in categories (so that
"bought together" means something). Two copies of it are then passed, each
through `enroll_and_queue` in this process, at the same moment:
  reference   the catalog table emptied: letters get the configured products,
              no recommendation is computed                              (1.00)
  ours        the catalog kept: the pass also rebuilds "bought together" from
              every order line (set-based) and chooses every queued letter's
              products from its customer's history                     (target <= 2)
Each copy is made fresh for each of --rounds rounds (interleaved); medians.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CATEGORIES = 40


def text(d: datetime) -> str:
    return d.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def build(db: Path, customers: int, lines: int, catalog: int, seed: int) -> dict[str, int]:
    """Write the shop; returns how many rows of each kind."""
    rng = random.Random(seed)
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=OFF")
    stamp = text(NOW - timedelta(days=800))
    products = []
    for p in range(1, catalog + 1):
        category = f"cat{p % CATEGORIES}"
        products.append(
            (
                p,
                f"P{p}",
                f"Product {p}",
                None,
                f"https://shop.example.com/p/{p}",
                None,
                500 + p % 90 * 100,
                category,
                1 if p % 17 else 0,
                stamp,
            )
        )
    raw.executemany(
        "INSERT INTO products (id, external_id, name, names, url, image_url, price_cents, category, "
        "in_stock, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        products,
    )
    by_category: dict[int, list[int]] = {}
    for p in range(1, catalog + 1):
        by_category.setdefault(p % CATEGORIES, []).append(p)
    weights = [1 / (rank + 1) for rank in range(catalog)]  # a few bestsellers, a long tail
    cumulative = list(itertools.accumulate(weights))
    everything = range(1, catalog + 1)
    orders_total = int(lines / 2.17)  # the mean basket, once repeats within it fall away
    spent: dict[int, list[float]] = {}
    order_rows, line_rows = [], []
    line_id = 0
    for o in range(1, orders_total + 1):
        customer = rng.randrange(1, customers + 1)
        placed = NOW - timedelta(days=rng.uniform(0, 730))
        first = rng.choices(everything, cum_weights=cumulative)[0]
        basket = {first}
        siblings = by_category[first % CATEGORIES]
        while len(basket) < rng.choice((1, 2, 2, 3, 4)):
            basket.add(
                rng.choice(siblings) if rng.random() < 0.7 else rng.choices(range(1, catalog + 1), weights)[0]
            )
        amount = 0
        for n, p in enumerate(sorted(basket), start=1):
            line_id += 1
            price = 500 + p % 90 * 100
            amount += price
            line_rows.append((line_id, o, n, f"P{p}", None, f"Product {p}", 1, price, p))
        order_rows.append(
            (o, f"O{o}", customer, text(placed), amount, "USD", None, None, stamp, "placed", None)
        )
        stats = spent.setdefault(customer, [0, 0, placed.timestamp(), placed.timestamp()])
        stats[0] += 1
        stats[1] += amount
        stats[2] = min(stats[2], placed.timestamp())
        stats[3] = max(stats[3], placed.timestamp())
        if len(order_rows) >= 100_000:
            _flush(raw, order_rows, line_rows)
    _flush(raw, order_rows, line_rows)
    people = []
    for c in range(1, customers + 1):
        count, revenue, first_ts, last_ts = spent.get(c, (0, 0, None, None))
        first = datetime.fromtimestamp(first_ts, UTC) if first_ts else None
        last = datetime.fromtimestamp(last_ts, UTC) if last_ts else None
        years = max(((last - first).days / 365) if first and last else 0, 1)
        first_text = text(first) if first else None
        last_text = text(last) if last else None
        email = f"c{c}@example.com"
        value = int(revenue / years)
        row = (c, f"C{c}", email, email, "", "subscribed", count, revenue, value, first_text, last_text)
        people.append((*row, stamp, stamp, "UTC"))
        if len(people) >= 100_000:
            _customers(raw, people)
    _customers(raw, people)
    raw.commit()
    counts = {
        t: raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("customers", "orders", "order_lines", "products")
    }
    raw.close()
    return counts


ORDER_SQL = (
    "INSERT INTO orders (id, external_id, customer_id, placed_at, amount_cents, currency, coupon_code, "
    "letter_id, created_at, status, paid_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
LINE_SQL = (
    "INSERT INTO order_lines (id, order_id, line_no, product_ref, sku, name, quantity, price_cents, "
    "product_id) VALUES (?,?,?,?,?,?,?,?,?)"
)
CUSTOMER_SQL = (
    "INSERT INTO customers (id, external_id, email, email_key, tags, subscription, orders_count, "
    "revenue_cents, annual_value_cents, first_purchase_at, last_purchase_at, created_at, updated_at, "
    "timezone) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _flush(
    raw: sqlite3.Connection, order_rows: list[tuple[object, ...]], line_rows: list[tuple[object, ...]]
) -> None:
    raw.executemany(ORDER_SQL, order_rows)
    raw.executemany(LINE_SQL, line_rows)
    order_rows.clear()
    line_rows.clear()


def _customers(raw: sqlite3.Connection, people: list[tuple[object, ...]]) -> None:
    raw.executemany(CUSTOMER_SQL, people)
    people.clear()


def timed_pass(db: Path) -> tuple[float, dict[str, int]]:
    """A real pass on `db`, in this process; seconds, and what it wrote."""
    from reactivator.config import DatabaseSettings, load_settings
    from reactivator.service.app import app_from_settings
    from reactivator.service.passes import enroll_and_queue

    settings = load_settings(None, database=DatabaseSettings(url=f"sqlite:///{db}"))
    app = app_from_settings(settings)
    start = time.perf_counter()
    report = enroll_and_queue(app, NOW)
    seconds = time.perf_counter() - start
    raw = sqlite3.connect(db)
    picks = raw.execute("SELECT count(DISTINCT letter_id) FROM letter_products").fetchone()[0]
    raw.close()
    app.db.dispose()
    assert report.writes is not None
    return seconds, {"queued": report.writes.queued, "letters_with_products": picks}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261206)
    a = parser.parse_args()
    os.environ.pop("REACTIVATOR_CONFIG", None)
    os.environ["REACTIVATOR_TEMPLATES__DIR"] = str(ROOT / "templates" / "emails")
    work = Path(tempfile.mkdtemp(prefix="reactivator-bench-"))
    try:
        shop = work / "shop.db"
        from reactivator.db.engine import Database

        Database(f"sqlite:///{shop}").upgrade()
        started = time.perf_counter()
        counts = build(shop, a.customers, a.lines, a.products, a.seed)
        print(f"shop: {json.dumps(counts)} written in {time.perf_counter() - started:.0f}s", file=sys.stderr)
        bare = work / "bare.db"
        results: dict[str, list[float]] = {"reference": [], "ours": []}
        wrote: dict[str, dict[str, int]] = {}
        for n in range(a.rounds):
            for name in ("reference", "ours"):
                copy = work / f"{name}.db"
                shutil.copy(shop, copy)
                if name == "reference":
                    raw = sqlite3.connect(copy)
                    raw.execute("DELETE FROM products")  # no catalog: the configured products
                    raw.commit()
                    raw.close()
                seconds, wrote[name] = timed_pass(copy)
                results[name].append(seconds)
                print(f"round {n + 1} {name}: {seconds:.1f}s {wrote[name]}", file=sys.stderr)
                copy.unlink()
        bare.unlink(missing_ok=True)
        ref, ours = statistics.median(results["reference"]), statistics.median(results["ours"])
        print(f"\n{a.customers:,} customers, {counts['order_lines']:,} order lines, {a.products:,} products")
        queued = wrote["reference"]["queued"]
        print(f"pass without a catalog (reference)   {ref:7.1f} s   1.00   queued {queued:,}")
        verdict = "met" if ours / ref <= 2 else "MISSED"
        print(
            f"pass with recommendations            {ours:7.1f} s   {ours / ref:.2f}   <= 2 {verdict}; "
            f"{wrote['ours']['letters_with_products']:,} letters got products"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
