"""Real SMTP servers on loopback for tests (aiosmtpd): a capture server and a fault server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from reactivator.mail.capture import free_port

__all__ = ["CaptureHandler", "FaultHandler", "free_port", "smtp_server"]


@dataclass
class CaptureHandler:
    """Keeps every message the server accepts, with its envelope recipients and sender."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    return_paths: list[str] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # the DATA exactly as received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        self.return_paths.append(str(envelope.mail_from))
        self.raw.append(bytes(envelope.original_content or envelope.content))
        return "250 OK"

    def recipients(self) -> list[str]:
        return [r for rcpts, _ in self.messages for r in rcpts]


@dataclass
class FaultHandler(CaptureHandler):
    """A capture server that misbehaves on purpose.

    rcpt_replies: per address, replies given to its next RCPT commands in turn
    (e.g. ["451 4.3.0 try later"]); once used up the address is accepted.
    drop_on_data: addresses whose DATA is answered by dropping the connection.
    data_delay: seconds to wait before answering DATA (a slow server).
    """

    rcpt_replies: dict[str, list[str]] = field(default_factory=dict)
    drop_on_data: set[str] = field(default_factory=set)
    data_delay: float = 0.0
    sessions: int = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        replies = self.rcpt_replies.get(address)
        if replies:
            reply = replies.pop(0)
            if not reply.startswith("250"):
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if set(envelope.rcpt_tos) & self.drop_on_data:
            self.drop_on_data -= set(envelope.rcpt_tos)
            server.transport.close()
            return "421 4.4.2 connection dropped"
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def smtp_server(handler: Any) -> Iterator[int]:
    """Run `handler` on a free loopback port; yields the port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
