"""Log lines: JSON for machines with the letter's fields, and never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from reactivator import logs


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    logs.configure("info", json=True, stream=out)
    yield out
    root.handlers, root.level = handlers, level


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_becomes_one_json_line_with_its_fields(stream: io.StringIO) -> None:
    logging.getLogger("reactivator.delivery").info(
        "letter sent",
        extra={"campaign": "winback", "step": "we-miss-you", "customer": "C1", "message_id": "<m@x>"},
    )
    (line,) = lines(stream)
    assert line["event"] == "letter sent"
    assert line["level"] == "info"
    assert line["logger"] == "reactivator.delivery"
    assert (line["campaign"], line["step"], line["customer"], line["message_id"]) == (
        "winback",
        "we-miss-you",
        "C1",
        "<m@x>",
    )
    assert str(line["timestamp"]).endswith("Z")


def test_secrets_are_dropped_and_signed_links_cut_to_their_route(stream: io.StringIO) -> None:
    token = "eyJhIjoxfQ.Zm9vYmFyYmF6cXV4cXV1eA"
    logging.getLogger("reactivator").warning(
        "opened https://shop.example.com/u/%s and /c/%s",
        token,
        token,
        extra={"password": "hunter2", "body": "<p>"},
    )
    (line,) = lines(stream)
    assert "password" not in line
    assert "body" not in line
    assert token not in json.dumps(line)
    assert "/u/…" in str(line["event"])


def test_addresses_in_a_servers_reply_are_cut_to_their_domain(stream: io.StringIO) -> None:
    logging.getLogger("reactivator.delivery").warning(
        "letter failed: 550 5.1.1 <ann.smith@mail.example.org>: no such user", extra={"message_id": "<a@b.c>"}
    )
    (line,) = lines(stream)
    assert "ann.smith" not in json.dumps(line)
    assert "…@mail.example.org" in str(line["event"])
    assert line["message_id"] == "<a@b.c>"  # a Message-ID is not an address


def test_below_the_level_nothing_is_written(stream: io.StringIO) -> None:
    logging.getLogger("reactivator").debug("chatter")
    assert stream.getvalue() == ""


def test_a_terminal_gets_readable_lines_not_json() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = Terminal()
    try:
        logs.configure("info", stream=out)
        logging.getLogger("reactivator").info("pass done", extra={"queued": 3})
    finally:
        root.handlers, root.level = handlers, level
    text = out.getvalue()
    assert "pass done" in text
    assert "queued" in text
    assert not text.lstrip().startswith("{")
