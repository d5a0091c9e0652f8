"""Connections: SQLite tuned for a daemon's concurrent use, or PostgreSQL; schema checks."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError, SQLAlchemyError

from reactivator.core.holdout import BUCKETS
from reactivator.errors import ConfigError, SchemaMissingError, StorageError, redact_url

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class Database:
    """One database: `read()` and `write()` give transactions; errors come out as StorageError."""

    def __init__(self, url: str, *, busy_timeout_seconds: float = 30.0, sqlite_cache_mb: int = 64) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        try:
            self.engine = _make_engine(url, busy_timeout_seconds, sqlite_cache_mb)
        except (ArgumentError, ValueError) as exc:
            raise ConfigError([f"database.url = {redact_url(url)!r}: {exc}"]) from None

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file (None on PostgreSQL)."""
        return self.engine.url.database if self.is_sqlite else None

    def ping(self) -> None:
        """A round trip to the database; StorageError if it cannot answer."""
        with self._translated(), self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write. On SQLite it takes the write lock up front
        (BEGIN IMMEDIATE), so it waits its turn instead of failing with "database is
        locked" when it later tries to upgrade a read lock."""
        with self._translated(), self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on both backends)."""
        with self._translated(), self.engine.connect() as conn, conn.begin():
            yield conn
            conn.rollback()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, ProgrammingError) as exc:
            if _is_missing_table(exc):
                raise SchemaMissingError(self.safe_url, None, head_revision()) from exc
            raise StorageError(f"database error on {self.safe_url}: {exc.orig}") from exc
        except DBAPIError as exc:
            raise StorageError(f"database error on {self.safe_url}: {exc.orig}") from exc
        except SQLAlchemyError as exc:  # no connection free in the pool, and the like
            raise StorageError(f"database error on {self.safe_url}: {exc}") from exc

    def current_revision(self) -> str | None:
        """The Alembic revision the database is at, or None if it has no schema."""
        with self._translated(), self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def require_schema(self) -> None:
        """Raise SchemaMissingError unless the schema is at this version's head."""
        path = self.sqlite_path
        if path and path != ":memory:" and not Path(path).exists():
            # Asking SQLite would create an empty file: a mistyped path must leave nothing behind.
            raise SchemaMissingError(self.safe_url, None, head_revision())
        found, expected = self.current_revision(), head_revision()
        if found != expected:
            raise SchemaMissingError(self.safe_url, found, expected)

    def upgrade(self) -> tuple[str | None, str]:
        """Apply pending migrations; returns (before, after) revisions."""
        from alembic import command

        before = self.current_revision()
        with self._translated(), self.engine.begin() as conn:
            cfg = _alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return before, head_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str, busy_timeout_seconds: float, cache_mb: int = 64) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, future=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds})

    @event.listens_for(engine, "connect")
    def _tune(dbapi_conn: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (below) so that writers can ask for IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # A page cache far above SQLite's 2 MiB default: imports and passes touch
        # index pages all over a large file.
        cur.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        cur.close()
        # The holdout bucket, computed by the same function as core's (PostgreSQL has md5 built in).
        dbapi_conn.create_function(SQLITE_BUCKET_FUNCTION, 1, _sqlite_bucket, deterministic=True)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


SQLITE_BUCKET_FUNCTION = "reactivator_bucket"


def _sqlite_bucket(text: str | None) -> int | None:
    # core.holdout.bucket_of written out: SQLite calls this once a row, so every call saved counts.
    if text is None:
        return None
    return int.from_bytes(_md5(text.encode(), usedforsecurity=False).digest()[:4], "big") % BUCKETS


_md5 = hashlib.md5


def _is_missing_table(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "no such table" in message or ("relation" in message and "does not exist" in message)


def _alembic_config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


# The newest migration this code ships. Written out rather than asked of Alembic,
# whose script directory costs every command a sixth of a second to read; a test
# holds it equal to the head of migrations/versions/.
HEAD_REVISION = "0009"


def head_revision() -> str:
    """The newest migration this code ships."""
    return HEAD_REVISION
