"""/readyz: ready only when the database answers and the SMTP server greets us."""

from __future__ import annotations

import httpx

from reactivator.render.links import Tokens
from reactivator.service.app import app_from_settings
from reactivator.service.engagement import Engagement
from reactivator.web.endpoints import build_web_app
from tests.conftest import NOW, make_settings
from tests.smtp_servers import CaptureHandler, free_port, smtp_server
from tests.web.conftest import running


def readyz(db_url: str, smtp_port: int) -> httpx.Response:
    app = app_from_settings(make_settings(db_url, smtp={"port": smtp_port}))
    try:
        with running(build_web_app(Engagement.start(app, NOW)), free_port()) as url:
            return httpx.get(f"{url}/readyz", timeout=30)
    finally:
        app.db.dispose()


def test_ready_when_the_database_and_the_mail_server_answer(db_url: str) -> None:
    with smtp_server(CaptureHandler()) as port:
        answer = readyz(db_url, port)
    assert (answer.status_code, answer.json()) == (200, {"database": "ok", "smtp": "ok"})


def test_not_ready_while_the_mail_server_is_down(db_url: str) -> None:
    answer = readyz(db_url, free_port())  # nobody listens there
    assert (answer.status_code, answer.json()) == (503, {"database": "ok", "smtp": "unreachable"})


def test_not_ready_while_the_database_is_down_but_still_alive() -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"  # nothing listens there
    with smtp_server(CaptureHandler()) as port:
        app = app_from_settings(make_settings(url, smtp={"port": port}), require_schema=False)
        engagement = Engagement(app, Tokens(["k" * 32]))
        with running(build_web_app(engagement), free_port()) as base:
            answer = httpx.get(f"{base}/readyz", timeout=30)
            health = httpx.get(f"{base}/healthz", timeout=30)
    assert (answer.status_code, answer.json()) == (503, {"database": "unreachable", "smtp": "ok"})
    assert health.status_code == 200
