"""Storage itself: migrations match the schema, SQLite writers never see 'database is locked'."""

from __future__ import annotations

import threading
from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from reactivator.db.engine import Database, head_revision
from reactivator.db.tables import metadata, orders
from reactivator.service.app import app_from_settings
from reactivator.service.passes import enroll_and_queue
from tests.conftest import NOW, make_settings
from tests.helpers import add_customer, buy, dormant_customer


def test_migrations_build_exactly_the_declared_schema(db_url: str) -> None:
    db = Database(db_url)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    db.dispose()
    assert diff == []


def test_the_written_head_revision_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from reactivator.db.engine import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert head_revision() == ScriptDirectory.from_config(cfg).get_current_head()


def test_upgrade_is_idempotent_and_reports_the_head(db_url: str) -> None:
    db = Database(db_url)
    assert db.upgrade() == (head_revision(), head_revision())
    db.require_schema()
    db.dispose()


def test_concurrent_sqlite_writers_wait_their_turn_instead_of_failing(sqlite_url: str) -> None:
    setup = app_from_settings(make_settings(sqlite_url))
    for n in range(40):
        dormant_customer(setup, f"c{n}", NOW, 100 + n)
    errors: list[BaseException] = []

    def buyer(worker: int) -> None:
        app = app_from_settings(make_settings(sqlite_url))  # its own engine, like another process
        try:
            for n in range(40):
                add_customer(app, f"w{worker}-{n}", NOW)
                buy(app, f"c{n}", NOW + timedelta(minutes=worker * 100 + n), order_id=f"w{worker}-{n}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            app.db.dispose()

    def passer() -> None:
        app = app_from_settings(make_settings(sqlite_url))
        try:
            for k in range(15):
                enroll_and_queue(app, NOW + timedelta(hours=k))
        except BaseException as exc:
            errors.append(exc)
        finally:
            app.db.dispose()

    threads = [threading.Thread(target=buyer, args=(w,)) for w in range(3)] + [
        threading.Thread(target=passer)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with setup.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 40 + 3 * 40
