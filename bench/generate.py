"""Deterministic benchmark data: N customers and M orders as CSV, streamed to bench/data/.

    .venv/bin/python bench/generate.py [--customers 1000000] [--orders 5000000]
        [--now 2026-11-01T12:00:00+00:00] [--seed 20261101] [--out bench/data]

Orders are written in time order (ascending id and placed_at), spread uniformly
over the two years before --now, each one placed by a customer drawn uniformly
at random. A customer with k orders is then dormant 90+ days with probability
(1 - 90/730)^k, which for M/N = 5 gives about 54% of customers dormant (45%
reachable after the 2% `bad_payer` tag and quiet hours are accounted for).

Same arguments, same bytes: the output depends only on the arguments.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_NOW = "2026-11-01T12:00:00+00:00"
DEFAULT_SEED = 20261101
HISTORY_DAYS = 730
CHUNK = 50_000  # rows per write

FIRST = [
    "Anna",
    "Boris",
    "Clara",
    "David",
    "Elena",
    "Fedor",
    "Grace",
    "Hugo",
    "Irina",
    "James",
    "Kira",
    "Leo",
    "Maria",
    "Nikolai",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sergei",
    "Tanya",
]
LAST = [
    "Smith",
    "Ivanov",
    "Jones",
    "Petrova",
    "Brown",
    "Sokolov",
    "Miller",
    "Volkova",
    "Davis",
    "Kuznetsov",
    "Wilson",
    "Popova",
    "Moore",
    "Lebedev",
    "Taylor",
    "Novikova",
]
# Zone mix: at 12:00 UTC (the default --now) New York, Los Angeles and Tokyo are in quiet hours.
ZONES = (
    ["UTC"] * 20
    + ["Europe/London"] * 15
    + ["Europe/Berlin"] * 20
    + ["Europe/Moscow"] * 20
    + ["America/New_York"] * 8
    + ["America/Los_Angeles"] * 4
    + ["Asia/Tokyo"] * 3
    + [""] * 10
)


def paths(out: Path, customers: int, orders: int, now: str, seed: int) -> tuple[Path, Path, Path]:
    tag = f"{customers}c_{orders}o"
    return out / f"customers_{tag}.csv", out / f"orders_{tag}.csv", out / f"meta_{tag}.json"


def meta(customers: int, orders: int, now: str, seed: int) -> dict[str, object]:
    return {
        "customers": customers,
        "orders": orders,
        "now": now,
        "seed": seed,
        "history_days": HISTORY_DAYS,
        "version": 1,
    }


def write_customers(path: Path, n: int, rng: random.Random) -> None:
    rand = rng.random
    first, last, zones = FIRST, LAST, ZONES
    nf, nl, nz = len(first), len(last), len(zones)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id,email,first_name,last_name,locale,timezone,tags\n")
        lines: list[str] = []
        for i in range(1, n + 1):
            r = rand()
            tags = "bad_payer" if r < 0.02 else "vip" if r < 0.05 else "vip;newsletter" if r < 0.06 else ""
            locale = "ru" if rand() < 0.3 else "en"
            lines.append(
                f"C{i:08d},c{i}@example.com,{first[int(rand() * nf)]},{last[int(rand() * nl)]},"
                f"{locale},{zones[int(rand() * nz)]},{tags}\n"
            )
            if len(lines) >= CHUNK:
                f.write("".join(lines))
                lines.clear()
        f.write("".join(lines))


def write_orders(path: Path, m: int, n: int, now: datetime, rng: random.Random) -> None:
    """Order i is placed at start + (i + u) * span / m, u uniform in [0, 1): sorted, uniform."""
    rand = rng.random
    end = int(now.timestamp()) - 3600  # the last order an hour before --now
    start = end - HISTORY_DAYS * 86400
    span = end - start
    day_str: dict[int, str] = {}
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id,customer_id,placed_at,amount,currency\n")
        lines: list[str] = []
        for i in range(m):
            t = start + int((i + rand()) * span / m)
            day, sec = divmod(t, 86400)
            d = day_str.get(day)
            if d is None:
                d = day_str[day] = (epoch + timedelta(days=day)).strftime("%Y-%m-%d")
            hh, rem = divmod(sec, 3600)
            mm, ss = divmod(rem, 60)
            cents = 500 + int(rand() * rand() * 40000)  # skewed: many small orders, a few large
            cust = 1 + int(rand() * n)
            lines.append(
                f"O{i + 1:09d},C{cust:08d},{d}T{hh:02d}:{mm:02d}:{ss:02d}+00:00,"
                f"{cents // 100}.{cents % 100:02d},USD\n"
            )
            if len(lines) >= CHUNK:
                f.write("".join(lines))
                lines.clear()
        f.write("".join(lines))


def generate(
    out: Path, customers: int, orders: int, now: str, seed: int, force: bool = False
) -> tuple[Path, Path]:
    """Write (or reuse, if already written with the same arguments) the two CSVs."""
    out.mkdir(parents=True, exist_ok=True)
    cpath, opath, mpath = paths(out, customers, orders, now, seed)
    wanted = meta(customers, orders, now, seed)
    fresh = cpath.exists() and opath.exists() and mpath.exists() and json.loads(mpath.read_text()) == wanted
    if fresh and not force:
        return cpath, opath
    mpath.unlink(missing_ok=True)
    at = datetime.fromisoformat(now)
    write_customers(cpath, customers, random.Random(f"{seed}:customers"))
    write_orders(opath, orders, customers, at, random.Random(f"{seed}:orders"))
    mpath.write_text(json.dumps(wanted))
    return cpath, opath


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=5_000_000)
    ap.add_argument("--now", default=DEFAULT_NOW, help="end of the order history (ISO 8601)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "data")
    ap.add_argument("--force", action="store_true", help="rewrite even if the files are up to date")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    cpath, opath = generate(a.out, a.customers, a.orders, a.now, a.seed, a.force)
    print(
        f"{cpath} ({cpath.stat().st_size / 1e6:.1f} MB)\n{opath} ({opath.stat().st_size / 1e6:.1f} MB)\n"
        f"in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
