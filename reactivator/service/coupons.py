"""Coupons that the shop's checkout accepts: a pool of the shop's own codes, and an export of ours.

With a pool, a step's letters carry the shop's codes, each once. Without one,
reactivator makes codes, and `coupons export` writes them in a CSV the shop
imports into its checkout (percent off, single use, expiry).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reactivator.core.coupons import normalise_coupon
from reactivator.db import coupons as pool
from reactivator.errors import InputError
from reactivator.service.app import App

MAX_CODE = 64


@dataclass
class PoolImport:
    step: str
    added: int = 0
    already: int = 0
    rejected: int = 0
    unused: int = 0
    first_rejects: list[tuple[int, str]] = field(default_factory=list)


def _codes_in(path: Path) -> list[tuple[int, str]]:
    """(line, code) of a CSV with a 'code' column, or of a file with one code a line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise InputError(f"{path} is empty")
    header = [h.strip().lower() for h in rows[0]]
    if "code" in header:
        column = header.index("code")
        return [
            (n, row[column] if column < len(row) else "") for n, row in enumerate(rows[1:], start=2) if row
        ]
    if len(header) > 1:
        raise InputError(f"{path} has no 'code' column; the header row has: {', '.join(header)}")
    return [(n, row[0]) for n, row in enumerate(rows, start=1) if row]


def import_pool(app: App, step_key: str, path: Path, now: datetime) -> PoolImport:
    """Load the shop's codes for one step; a code already known (here or on a letter) is not loaded twice."""
    step = app.policy.step_named(step_key)
    if step is None:
        keys = ", ".join(s.key for s in app.policy.all_steps())
        raise InputError(f"no step {step_key!r}; the steps are: {keys}")
    if step.discount_percent <= 0:
        raise InputError(f"step {step_key!r} gives no discount, so its letters carry no code")
    summary = PoolImport(step_key)
    seen: dict[str, int] = {}
    good: list[str] = []
    for line, raw in _codes_in(path):
        code = normalise_coupon(raw)
        problem = None
        if not code:
            problem = "empty code"
        elif len(code) > MAX_CODE or not all(ch.isalnum() or ch in "-_" for ch in code):
            problem = f"code {raw!r}: use letters, digits, '-' and '_', at most {MAX_CODE}"
        elif code in seen:
            problem = f"duplicate code {code} (first on line {seen[code]})"
        if problem is not None:
            summary.rejected += 1
            if len(summary.first_rejects) < 20:
                summary.first_rejects.append((line, problem))
            continue
        seen[code] = line
        good.append(code)
    with app.db.write() as conn:
        known = pool.known_codes(conn, good)
        fresh = [c for c in good if c not in known]
        summary.already = len(good) - len(fresh)
        summary.added = pool.add_codes(conn, step_key, fresh, now)
        summary.unused = pool.unused(conn).get(step_key, 0)
    return summary


def pool_left(app: App) -> dict[str, int]:
    """Unused codes per step with a pool."""
    with app.db.read() as conn:
        return pool.unused(conn)


def low_pools(app: App) -> list[str]:
    """An alert line for each pool with fewer unused codes than `[coupons] alert_below`."""
    return low_pools_of(pool_left(app), app.settings.coupons.alert_below)


def low_pools_of(left: dict[str, int], floor: int) -> list[str]:
    return [
        f"coupon pool of {step} is low: {unused:,} unused codes left (alert below {floor:,}); "
        f"load more with `reactivator import coupons FILE --step {step}`"
        for step, unused in sorted(left.items())
        if unused < floor
    ]


EXPORT_COLUMNS = ("code", "discount_type", "value", "usage_limit", "ends_at", "step")


def export_generated(app: App, since: datetime | None) -> str:
    """Our codes as CSV for the shop's checkout: code, percentage, value, usage limit 1, expiry."""
    with app.db.read() as conn:
        codes = pool.generated_codes(conn, since)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for c in codes:
        ends = c.expires_at.isoformat() if c.expires_at else ""
        writer.writerow((c.code, "percentage", c.percent, 1, ends, c.step_key))
    return out.getvalue()
