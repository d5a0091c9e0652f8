"""`reactivator status`: daemons alive or silent, the next pass, the queue by state, deferrals by domain."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from reactivator.core.refusals import Refusal
from reactivator.db import daemons
from reactivator.errors import DeliveryError
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import App
from reactivator.service.delivery import send_due
from reactivator.service.passes import enroll_and_queue
from reactivator.service.status import status
from tests.conftest import NOW
from tests.helpers import dormant_customer


def test_status_shows_the_daemons_the_next_pass_and_the_queue_by_state(app: App) -> None:
    for n in range(3):
        dormant_customer(app, f"ok{n}", NOW, 100)
    for n in range(2):
        dormant_customer(app, f"slow{n}", NOW, 100, email=f"slow{n}@slow.example")
    dormant_customer(app, "night", NOW, 100, timezone="Asia/Tokyo")  # 21:00 there: held till morning
    enroll_and_queue(app, NOW)
    busy = DeliveryError("451 4.7.1 try again later", reason=Refusal.TEMPORARY, code=451)
    mailer = MemoryMailer(refuse={f"slow{n}@slow.example": busy for n in range(2)})
    asyncio.run(send_due(app, mailer, NOW))
    with app.db.write() as conn:
        daemons.register(conn, "web1:100", "web1", 100, NOW - timedelta(hours=1))
        daemons.heartbeat(conn, "web1:100", NOW - timedelta(seconds=5), NOW + timedelta(minutes=9), [])
        daemons.register(conn, "web2:200", "web2", 200, NOW - timedelta(days=1))
        daemons.heartbeat(conn, "web2:200", NOW - timedelta(hours=2), NOW - timedelta(hours=1), ["stale"])

    seen = status(app, NOW + timedelta(seconds=1))

    assert [(d.row.name, d.alive) for d in seen.daemons] == [("web2:200", False), ("web1:100", True)]
    assert seen.next_pass_at == NOW + timedelta(minutes=9)  # the silent daemon's plan does not count
    assert seen.alerts == []  # nor do its alerts
    assert seen.queue["sent"] == 3
    assert seen.queue["deferred"] == 2
    assert seen.queue["scheduled"] == 1
    assert seen.queue["due"] == seen.queue["in flight"] == 0
    (domain,) = seen.deferred_by_domain
    assert (domain.domain, domain.letters) == ("slow.example", 2)
    assert domain.next_try > NOW
    assert "451 4.7.1" in (domain.last_error or "")
    assert {e.customer for e in seen.recent_errors} >= {"slow0", "slow1"}
    assert all(e.at == NOW for e in seen.recent_errors if e.customer.startswith("slow"))
