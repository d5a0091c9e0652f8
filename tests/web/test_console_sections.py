"""A new console page is one section: it is served, and it is behind the console's guards."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from reactivator.web.console import SECTIONS, ConsoleState
from tests.smtp_servers import CaptureHandler
from tests.web.conftest import PreviewServer, serve_preview

writes: list[str] = []


def notes_section(state: ConsoleState) -> list[BaseRoute]:
    async def show(request: Request) -> Response:
        return PlainTextResponse(f"notes for {state.app.settings.shop.name_in()}")

    async def write(request: Request) -> Response:
        writes.append((await request.body()).decode())
        return PlainTextResponse("saved")

    return [Route("/notes", show), Route("/notes", write, methods=["POST"])]


@pytest.fixture
def console_with_notes(
    tmp_path: Path, sqlite_url: str, capture_smtp: tuple[int, CaptureHandler]
) -> Iterator[PreviewServer]:
    SECTIONS.append(notes_section)
    writes.clear()
    try:
        with serve_preview(tmp_path, sqlite_url, capture_smtp) as server:
            yield server
    finally:
        SECTIONS.remove(notes_section)


def _status(request: urllib.request.Request) -> int:
    try:
        return int(urllib.request.urlopen(request).status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_section_added_to_the_console_is_served_and_guarded(console_with_notes: PreviewServer) -> None:
    url = console_with_notes.url + "/notes"
    with urllib.request.urlopen(url) as page:
        assert page.read().decode().startswith("notes for ")
    assert _status(urllib.request.Request(url, data=b"mine", method="POST")) == 200
    assert (
        _status(urllib.request.Request(url, data=b"evil", headers={"Origin": "https://evil.example"})) == 403
    )
    assert _status(urllib.request.Request(url, headers={"Host": "evil.example"})) == 400
    assert writes == ["mine"]
