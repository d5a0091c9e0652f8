"""Shared fixtures: a migrated database on every backend, and an App around it.

Storage tests take the `app` (or `db_url`) fixture and run once on SQLite and
once on PostgreSQL. PostgreSQL comes from REACTIVATOR_TEST_POSTGRES_URL
(default: the local server's `postgres` database); where none is reachable the
PostgreSQL half is skipped with the reason, except under CI, where it fails.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from reactivator.config import DatabaseSettings, Settings, load_settings
from reactivator.db.engine import Database
from reactivator.db.tables import metadata
from reactivator.service.app import App, app_from_settings

SHIPPED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "emails"
PG_ADMIN_URL = os.environ.get(
    "REACTIVATOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's config file or REACTIVATOR_* variables by accident."""
    for name in list(os.environ):
        if name.startswith("REACTIVATOR_") and name != "REACTIVATOR_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # Tests run in a temporary folder; the letters come from the project's own templates.
    monkeypatch.setenv("REACTIVATOR_TEMPLATES__DIR", str(SHIPPED_TEMPLATES))


def _postgres_admin() -> Any:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests, but {PG_ADMIN_URL} is unreachable: {exc}")
        pytest.skip(f"no PostgreSQL reachable at {PG_ADMIN_URL} ({type(exc).__name__})")
    return engine


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped afterwards."""
    admin = _postgres_admin()
    name = f"reactivator_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    db.upgrade()
    db.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL: once SQLite, once PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        db = Database(url)
        db.upgrade()
        db.dispose()
        yield url
    else:
        url = request.getfixturevalue("postgres_url")
        _truncate(url)
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    return url


def make_settings(url: str, **overrides: Any) -> Settings:
    return load_settings(None, database=DatabaseSettings(url=url), **overrides)


@pytest.fixture
def app(db_url: str) -> Iterator[App]:
    application = app_from_settings(make_settings(db_url))
    yield application
    application.db.dispose()


@pytest.fixture(scope="session")
def dkim_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A fresh 2048-bit key pair (openssl): (private PEM, public key base64 for the DNS record)."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "PEM"], check=True, capture_output=True
    ).stdout.decode()
    body = "".join(line for line in public.splitlines() if "-----" not in line)
    return private.read_text(), body


def dkim_dns(public: str, selector: str = "reactivator", domain: str = "shop.example.com") -> Any:
    """A DNS lookup for dkimpy that knows the one key record of `dkim_key`."""

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        assert name == f"{selector}._domainkey.{domain}.".encode()
        return f"v=DKIM1; k=rsa; p={public}".encode()

    return lookup


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # noon UTC: nobody in UTC is in quiet hours
