"""The daemon's jobs, called in this process: the daily segmentation and the schedule's times."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from pathlib import Path

from reactivator.daemon import Daemon
from reactivator.db.daemons import all_daemons, register
from reactivator.service.app import App, app_from_settings
from tests.conftest import NOW, make_settings
from tests.helpers import customer_row, dormant_customer


def test_the_daily_segmentation_exports_the_dormant_and_their_value_and_records_when(app: App) -> None:
    dormant_customer(app, "a", NOW, 100)
    dormant_customer(app, "b", NOW, 200)
    dormant_customer(app, "c", NOW, 210)
    daemon = Daemon(app, clock=lambda: NOW)
    with app.db.write() as conn:
        register(conn, daemon.name, "host", 1, NOW)
    report = asyncio.run(daemon.jobs.segmentation())
    assert [t.customers for t in report.tiers] == [1, 2, 0]
    registry = daemon.metrics.registry
    assert registry.get_sample_value("reactivator_dormant_customers", {"tier": "90-179 days"}) == 1
    assert registry.get_sample_value("reactivator_dormant_customers", {"tier": "180-359 days"}) == 2
    assert (registry.get_sample_value("reactivator_value_at_stake", {"tier": "180-359 days"}) or 0) > 0
    with app.db.read() as conn:
        (row,) = all_daemons(conn)
    assert row.last_segments_at == NOW


def test_the_segmentation_runs_at_the_configured_hour_in_the_configured_zone(sqlite_url: str) -> None:
    app = app_from_settings(
        make_settings(sqlite_url, daemon={"segments_at": time(6, 0), "timezone": "Europe/Moscow"})
    )

    async def planned() -> datetime:
        scheduler = Daemon(app).scheduler
        scheduler.start(paused=True)
        try:
            job = scheduler.get_job("segments")
            return job.trigger.get_next_fire_time(None, datetime(2026, 6, 1, 12, 0, tzinfo=UTC))
        finally:
            scheduler.shutdown(wait=False)

    assert asyncio.run(planned()) == datetime(2026, 6, 2, 3, 0, tzinfo=UTC)  # 06:00 in Moscow
    app.db.dispose()


def test_the_pass_job_queues_what_is_due_records_the_pass_and_wakes_the_send_loop(app: App) -> None:
    dormant_customer(app, "a", NOW, 100)
    daemon = Daemon(app, clock=lambda: NOW)
    woken: list[bool] = []
    daemon.jobs.after_pass = lambda: woken.append(True)
    with app.db.write() as conn:
        register(conn, daemon.name, "host", 1, NOW)
    report = asyncio.run(daemon.jobs.run_pass())
    assert report is not None
    assert report.writes is not None
    assert report.writes.queued == 1
    assert woken == [True]
    with app.db.read() as conn:
        (row,) = all_daemons(conn)
    assert row.last_pass_at == NOW
    assert row.last_pass is not None
    assert row.last_pass["queued"] == 1
    assert daemon.metrics.registry.get_sample_value("reactivator_passes_total", {"outcome": "done"}) == 1


def test_a_failing_job_is_recorded_and_does_not_raise(app: App) -> None:
    daemon = Daemon(app, clock=lambda: NOW)
    with app.db.write() as conn:
        register(conn, daemon.name, "host", 1, NOW)

    async def broken() -> None:
        raise RuntimeError("boom")

    asyncio.run(daemon.guard("segments", broken)())
    with app.db.read() as conn:
        (row,) = all_daemons(conn)
    assert row.last_error == "segments: boom"


def test_the_daemon_polls_the_feedback_mailbox_when_one_is_set(sqlite_url: str, tmp_path: Path) -> None:
    import mailbox

    from tests.feedback.test_bounces import dsn

    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(dsn("gone@example.com", "5.1.1"))
    plain = app_from_settings(make_settings(sqlite_url))
    assert Daemon(plain).scheduler.get_job("feedback") is None  # no mailbox: no job
    settings = make_settings(sqlite_url, feedback={"mailbox": str(tmp_path / "Maildir"), "poll_minutes": 5})
    app = app_from_settings(settings)
    try:
        dormant_customer(app, "gone", NOW, 100)
        daemon = Daemon(app, clock=lambda: NOW)
        job = daemon.scheduler.get_job("feedback")
        assert job.trigger.interval.total_seconds() == 300
        asyncio.run(daemon.jobs.read_feedback())
        assert customer_row(app, "gone")["subscription"] == "bounced"
    finally:
        app.db.dispose()
        plain.db.dispose()
