"""Real servers for the web tests: the preview page under uvicorn, a capture SMTP server, Chromium."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from reactivator.mail.factory import build_mailer
from reactivator.service.app import App, app_from_settings
from reactivator.web.console import ConsoleState, build_console
from tests.conftest import SHIPPED_TEMPLATES, make_settings
from tests.smtp_servers import CaptureHandler, free_port, smtp_server

CHROMIUM = os.environ.get("REACTIVATOR_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def capture_smtp() -> Iterator[tuple[int, CaptureHandler]]:
    handler = CaptureHandler()
    with smtp_server(handler) as port:
        yield port, handler


@dataclass
class PreviewServer:
    url: str
    templates: Path
    app: App
    mail: CaptureHandler


@contextmanager
def serve_preview(
    tmp_path: Path, sqlite_url: str, capture_smtp: tuple[int, CaptureHandler], **settings: Any
) -> Iterator[PreviewServer]:
    smtp_port, handler = capture_smtp
    templates = tmp_path / "emails"
    shutil.copytree(SHIPPED_TEMPLATES, templates)
    config = make_settings(sqlite_url, templates={"dir": templates}, smtp={"port": smtp_port}, **settings)
    app = app_from_settings(config)
    state = ConsoleState(app=app, mailer=build_mailer(config))
    port = free_port()
    with running(build_console(state), port) as url:
        try:
            yield PreviewServer(url, templates, app, handler)
        finally:
            app.db.dispose()


@pytest.fixture
def preview_server(
    tmp_path: Path, sqlite_url: str, capture_smtp: tuple[int, CaptureHandler]
) -> Iterator[PreviewServer]:
    with serve_preview(tmp_path, sqlite_url, capture_smtp) as server:
        yield server


@contextmanager
def running(asgi_app: Any, port: int) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1:`port` in a thread; yields its base URL."""
    config = uvicorn.Config(
        asgi_app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests, but there is no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()
