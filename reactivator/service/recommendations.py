"""Recommendations for a pass: the products each new letter shows, from the customer's history.

"Bought together" is rebuilt from every purchase when it is older than a day
(one set-based statement); the choice itself is core.recommend, run for every
letter the pass queued, in the pass's own transaction so a letter is never sent
before its products are chosen. A shop without a catalog keeps the products of
its config.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reactivator.core.model import Policy
from reactivator.core.recommend import Catalog, History, Pick, recommend, related_first
from reactivator.db import recommendations as rows
from reactivator.service.app import App

if TYPE_CHECKING:
    from sqlalchemy import Connection  # the type of what app.db hands out; no SQL is run here

REFRESH_EVERY = timedelta(hours=24)


def refresh_if_stale(conn: Connection, now: datetime, *, force: bool = False) -> bool:
    """Rebuild "bought together" when it is a day old (or never built); True if it was."""
    if not rows.has_catalog(conn):
        return False
    last = rows.pairs_refreshed_at(conn)
    if not force and last is not None and now - last < REFRESH_EVERY:
        return False
    rows.refresh_pairs(conn, now)
    return True


def _related_first_steps(policy: Policy) -> set[str]:
    return {s.key for s in policy.all_steps() if related_first(s.from_days)}


def choose_for_queued(app: App, conn: Connection, now: datetime) -> int:
    """Choose and store the products of every letter queued at `now` (inside the pass's write);
    returns how many letters got products."""
    if not rows.has_catalog(conn):
        return 0
    refresh_if_stale(conn, now)
    catalog = rows.load_catalog(conn, now)
    known = rows.histories(conn, catalog, rows.queued_customers(now))
    count = app.settings.shop.products_per_letter
    far = _related_first_steps(app.policy)
    picks: dict[int, list[Pick]] = {}
    for letter_id, customer_id, step_key in rows.letters_needing_picks(conn, now):
        chosen = recommend(known.get(customer_id, History()), catalog, count, related_first=step_key in far)
        if chosen:
            picks[letter_id] = chosen
    rows.store_picks(conn, picks)
    return len(picks)


def picks_for(app: App, customer_id: int, step_key: str, now: datetime) -> tuple[Pick, ...]:
    """What a letter of this step would show this customer now (previews of letters not queued)."""
    with app.db.read() as conn:
        if not rows.has_catalog(conn):
            return ()
        catalog: Catalog = rows.load_catalog(conn, now)
        history = rows.histories(conn, catalog, [customer_id]).get(customer_id, History())
    far = step_key in _related_first_steps(app.policy)
    return tuple(recommend(history, catalog, app.settings.shop.products_per_letter, related_first=far))
