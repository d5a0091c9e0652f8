"""The complaint brake: a step whose letters draw too many "this is spam" clicks stops sending.

Gmail refuses a sender whose complaint rate passes 0.3% and asks for under 0.1%:
one bad letter must not cost the shop its inbox. When a step's complaints over
its delivered letters pass `[feedback] complaint_rate`, once at least
`brake_min_delivered` letters of it were delivered (since it was last resumed),
its queued letters stay queued, an ALERT is logged and shown by `status` and
the console, until `reactivator resume STEP`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from reactivator.db import feedback as repo
from reactivator.service.app import App

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrakeReading:
    step_key: str
    complaints: int
    delivered: int

    @property
    def rate(self) -> float:
        return self.complaints / self.delivered if self.delivered else 0.0


def reading(app: App, step_key: str) -> BrakeReading:
    with app.db.read() as conn:
        since = repo.resumed_at(conn, step_key)
        complaints, delivered = repo.complaints_and_delivered(conn, step_key, since)
    return BrakeReading(step_key, complaints, delivered)


def check_brakes(app: App, step_keys: list[str], now: datetime) -> list[str]:
    """Stop each of `step_keys` whose complaint rate is over the line; the steps stopped now."""
    rules = app.settings.feedback
    stopped = []
    for step_key in step_keys:
        seen = reading(app, step_key)
        if seen.delivered < rules.brake_min_delivered or seen.rate <= rules.complaint_rate:
            continue
        reason = (
            f"{seen.complaints} complaints over {seen.delivered} delivered letters "
            f"({seen.rate:.2%} > {rules.complaint_rate:.2%})"
        )
        with app.db.write() as conn:
            if not repo.stop_step(conn, step_key, reason, now):
                continue
        log.warning(
            "ALERT: step %s stopped sending: %s; `reactivator resume %s` restarts it",
            step_key,
            reason,
            step_key,
        )
        stopped.append(step_key)
    return stopped


def stopped_steps(app: App) -> dict[str, str]:
    with app.db.read() as conn:
        return repo.stopped_steps(conn)


def resume(app: App, step_key: str, now: datetime) -> bool:
    """Let a stopped step send again; False if it was not stopped."""
    with app.db.write() as conn:
        return repo.resume_step(conn, step_key, now)
