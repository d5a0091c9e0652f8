"""Where reactivator runs: the database, the web endpoints, the templates folder, imports, the daemon."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from pydantic import Field, field_validator

from reactivator.config.checks import check_url, check_zone
from reactivator.config.section import Section


class DatabaseSettings(Section):
    url: str = "sqlite:///reactivator.db"
    busy_timeout_seconds: float = Field(30.0, gt=0)
    sqlite_cache_mb: int = Field(64, ge=2, le=65_536)

    @field_validator("url")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if not v.startswith(("sqlite://", "postgresql")):
            raise ValueError(
                "use sqlite:///PATH for the embedded default or "
                "postgresql+psycopg://USER@HOST/DB for PostgreSQL"
            )
        return v


class WebSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8025, ge=1, le=65_535)
    # The public address of reactivator's web endpoints, as written into every
    # letter's tracking, unsubscribe and survey links.
    base_url: str = "http://127.0.0.1:8025"

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, v: str) -> str:
        return check_url(v).rstrip("/")


class ConsoleSettings(Section):
    # The marketer's pages (`reactivator console`, and the daemon with serve = true).
    # Loopback by default; any other address needs REACTIVATOR_CONSOLE_PASSWORD.
    host: str = "127.0.0.1"
    port: int = Field(8027, ge=1, le=65_535)
    # Whether `reactivator daemon` serves the console too (on its own port).
    serve: bool = False


class PrivacySettings(Section):
    # Where a shop's data requests (Shopify's customers/data_request webhook) are written,
    # one JSON file each, for the shop to hand to the customer.
    data_requests_dir: Path = Path("data-requests")


class TemplateSettings(Section):
    # The marketers' folder: a shared layout, then <locale>/<step>.{subject,html,txt}.j2.
    dir: Path = Path("templates/emails")
    # Gmail clips HTML past ~102 KB (the rest hides behind "[Message clipped]").
    max_html_kb: int = Field(100, ge=10, le=1000)


class ImportSettings(Section):
    batch_size: int = Field(50_000, ge=1, le=200_000)


class DaemonSettings(Section):
    # A pass runs at start, then every this many seconds.
    pass_every_seconds: int = Field(900, ge=1)
    # The daily segmentation (dormant customers and money at stake per tier), at
    # this time of day in this zone.
    segments_at: time = time(6, 0)
    timezone: str = "UTC"
    # Between passes the send loop looks this often for letters that became due
    # (quiet hours ending, retries, a paused domain resuming).
    poll_seconds: float = Field(10.0, gt=0)
    # How often the daemon says it is alive in the database (`reactivator status`).
    heartbeat_seconds: float = Field(15.0, gt=0)
    # On SIGTERM or Ctrl+C: how long letters in flight may take to finish.
    shutdown_grace_seconds: float = Field(30.0, gt=0)
    # Saved templates become a new version (checked, inlined once) without a restart.
    watch_templates: bool = True

    _zone = field_validator("timezone")(check_zone)
