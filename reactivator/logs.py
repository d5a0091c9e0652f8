"""Logging: structured (structlog), JSON lines when stderr is not a terminal, readable when it is.

The package logs through the standard library with its fields in `extra`
(campaign, step, customer, message_id, ...), so uvicorn's and APScheduler's
records come out in the same format. A log line never carries a letter's
body, a password or a token: fields with such names are dropped, anything
that looks like one of our signed links is cut down to its route, and email
addresses (a mail server's reply often repeats one) down to their domain.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, WrappedLogger

from reactivator.core.routes import SIGNED_ROUTES

LEVELS = ("debug", "info", "warning", "error")
_SECRET_KEYS = frozenset({"password", "token", "body", "html", "text", "secret", "authorization"})
# Our signed routes (core/routes.py): /c/<token>, /o/<token>.gif, /u/<token>, /s/<token>/<reason>.
_PREFIXES = "|".join(re.escape(route.prefix) for route in SIGNED_ROUTES)
_SIGNED_LINK = re.compile(rf"(/(?:{_PREFIXES})/)[A-Za-z0-9_.\-]{{16,}}")
# A mail server's reply often repeats the address; the domain is all an operator needs.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def _scrub(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    for key in list(event):
        if key.lower() in _SECRET_KEYS:
            del event[key]
        elif isinstance(event[key], str) and key not in ("timestamp", "level", "logger", "message_id"):
            value = _SIGNED_LINK.sub(r"\1…", event[key]) if "/" in event[key] else event[key]
            event[key] = _ADDRESS.sub(r"…@\1", value) if "@" in value else value
    return event


def configure(level: str = "warning", *, json: bool | None = None, stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr), at `level` and above."""
    stream = stream or sys.stderr
    as_json = not stream.isatty() if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # (the console renderer draws tracebacks itself)
            *([structlog.processors.format_exc_info] if as_json else []),
            _scrub,  # after the traceback is text, so that it is scrubbed too
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # A library's chatter at INFO is not ours to show.
    for noisy in ("apscheduler", "uvicorn.error", "watchfiles", "aiosmtpd", "mail.log", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("uvicorn.access").disabled = True
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def flush() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()
