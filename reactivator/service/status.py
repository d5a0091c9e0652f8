"""`reactivator status`: what the daemons see now, read from the database alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from reactivator.db import letter_states
from reactivator.db.coupons import unused
from reactivator.db.daemons import DaemonRow, all_daemons
from reactivator.db.feedback import replies_since, stopped_steps
from reactivator.db.letter_states import DomainDeferral, LetterError
from reactivator.db.letters import active_pauses
from reactivator.service.app import App
from reactivator.service.coupons import low_pools_of

STATES = ("due", "in flight", "scheduled", "deferred", "sent", "failed", "expired", "cancelled", "held")


@dataclass(frozen=True)
class DaemonView:
    row: DaemonRow
    alive: bool  # said it was alive within three heartbeats


@dataclass(frozen=True)
class Status:
    now: datetime
    daemons: list[DaemonView]
    next_pass_at: datetime | None
    queue: dict[str, int]
    deferred_by_domain: list[DomainDeferral]
    paused_domains: dict[str, datetime]
    recent_errors: list[LetterError]
    coupon_pools: dict[str, int] = field(default_factory=dict)  # unused codes per step with a pool
    pool_alerts: list[str] = field(default_factory=list)
    stopped_steps: dict[str, str] = field(default_factory=dict)  # the complaint brake's, with why
    replies_this_week: int = 0

    @property
    def alerts(self) -> list[str]:
        from_daemons = [a for d in self.daemons if d.alive for a in d.row.alerts]
        brakes = [
            f"step {step} stopped by the complaint brake: {why}; `reactivator resume {step}` restarts it"
            for step, why in self.stopped_steps.items()
        ]
        return list(dict.fromkeys([*brakes, *from_daemons, *self.pool_alerts]))


def status(app: App, now: datetime) -> Status:
    silence = timedelta(seconds=3 * app.settings.daemon.heartbeat_seconds)
    with app.db.read() as conn:
        rows = all_daemons(conn)
        depth = letter_states.depth_by_state(conn, now)
        deferred = letter_states.deferred_by_domain(conn, now)
        paused = active_pauses(conn, now)
        errors = letter_states.recent_errors(conn)
        pools = unused(conn)
        brakes = stopped_steps(conn)
        replies = replies_since(conn, now - timedelta(days=7))
    views = [DaemonView(r, now - r.heartbeat_at <= silence) for r in rows]
    upcoming = [v.row.next_pass_at for v in views if v.alive and v.row.next_pass_at]
    return Status(
        now=now,
        daemons=views,
        next_pass_at=min(upcoming) if upcoming else None,
        queue={state: depth.get(state, 0) for state in STATES},
        deferred_by_domain=deferred,
        paused_domains=paused,
        recent_errors=errors,
        coupon_pools=pools,
        pool_alerts=low_pools_of(pools, app.settings.coupons.alert_below),
        stopped_steps=brakes,
        replies_this_week=replies,
    )
