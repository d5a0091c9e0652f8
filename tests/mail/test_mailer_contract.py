"""One contract for every mailer: the memory twin, the capture server, the SMTP pool on a loopback server.

Whatever carries the letters hands over exactly the bytes it was given (DKIM-signed
by the wrapper when asked), says whether it can be reached, and reports a refusal
as a transport-neutral reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import dkim
import pytest

from reactivator.core.ports import Mailer, Outgoing
from reactivator.core.refusals import Refusal
from reactivator.errors import DeliveryError
from reactivator.mail.capture import CaptureServer
from reactivator.mail.dkim_signing import DkimSigner, SigningMailer
from reactivator.mail.factory import build_mailer
from reactivator.mail.memory import MemoryMailer
from reactivator.mail.smtp_pool import SmtpPool
from reactivator.render.message import Envelope, build_message
from tests.conftest import dkim_dns, make_settings
from tests.smtp_servers import FaultHandler, free_port, smtp_server

KINDS = ("memory", "capture", "smtp")
REFUSING = ("memory", "smtp")  # the capture server takes everything


@dataclass
class Rig:
    """A mailer and a way to read back what reached the other side."""

    mailer: Mailer
    received: Any  # () -> list of (recipient, return path or None, bytes)
    refuse: Any  # (address, SMTP reply, DeliveryError) -> None: make the far side refuse it
    kind: str


def _settings(port: int, **more: Any) -> Any:
    return make_settings("sqlite:///unused.db", smtp={"port": port, "pool_size": 2}, **more)


@contextmanager
def rig(kind: str, tmp_path: Path, signer: DkimSigner | None = None) -> Iterator[Rig]:
    def wrap(mailer: Mailer) -> Mailer:
        return SigningMailer(mailer, signer) if signer else mailer

    if kind == "memory":
        memory = MemoryMailer()
        yield Rig(
            wrap(memory),
            lambda: [(o.recipient, o.return_path, o.wire()) for o in memory.letters],
            lambda address, reply, error: memory.refuse.__setitem__(address, error),
            kind,
        )
    elif kind == "capture":
        folder = tmp_path / "captured"
        with CaptureServer(folder) as server:
            pool = SmtpPool(_settings(server.port).smtp, "hello@shop.example.com")
            yield Rig(
                wrap(pool),
                lambda: [
                    (path.stem.split("-", 1)[1].replace("_at_", "@"), None, path.read_bytes())
                    for path in sorted(folder.glob("*.eml"))
                ],
                None,
                kind,
            )
    else:
        handler = FaultHandler()
        with smtp_server(handler) as port:
            pool = SmtpPool(_settings(port).smtp, "hello@shop.example.com")
            yield Rig(
                wrap(pool),
                lambda: [
                    (rcpts[0], sender, raw)
                    for (rcpts, _), sender, raw in zip(
                        handler.messages, handler.return_paths, handler.raw, strict=True
                    )
                ],
                lambda address, reply, error: handler.rcpt_replies.__setitem__(address, [reply]),
                kind,
            )


def letter(to: str, n: int = 1) -> EmailMessage:
    envelope = Envelope(
        from_name="Demo Shop",
        from_email="hello@shop.example.com",
        reply_to="care@shop.example.com",
        to_email=to,
        to_name="Ольга Иванова",
        message_id=f"<contract.{n}@shop.example.com>",
        unsubscribe_url="https://shop.example.com/u/token",
        unsubscribe_mailto="unsubscribe@shop.example.com?subject=unsubscribe",
    )
    html = "<html><body><p>Мы скучаем по Вам</p><p>" + "x" * 2000 + "</p></body></html>"
    return build_message(envelope, f"Letter {n}: мы скучаем", "Мы скучаем по Вам\n", html, datetime.now(UTC))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def deliver(mailer: Mailer, *letters: Outgoing) -> None:
    """Hand the letters over in turn, then close the mailer (on the loop its connections live on)."""

    async def go() -> None:
        try:
            for outgoing in letters:
                await mailer.send(outgoing)
        finally:
            await mailer.close()

    run(go())


@pytest.mark.parametrize("kind", KINDS)
def test_a_letter_arrives_byte_for_byte_with_its_recipient(kind: str, tmp_path: Path) -> None:
    with rig(kind, tmp_path) as r:
        messages = [letter("ann@example.com", 1), letter("bob@example.org", 2)]
        deliver(r.mailer, Outgoing(messages[0], "ann@example.com"), Outgoing(messages[1], "bob@example.org"))
        received = r.received()
    assert [(to, data) for to, _, data in received] == [
        ("ann@example.com", messages[0].as_bytes()),
        ("bob@example.org", messages[1].as_bytes()),
    ]


@pytest.mark.parametrize("kind", ["memory", "smtp"])
def test_the_return_path_a_letter_names_is_its_envelope_sender(kind: str, tmp_path: Path) -> None:
    with rig(kind, tmp_path) as r:
        deliver(
            r.mailer, Outgoing(letter("ann@example.com"), "ann@example.com", "bounces+7@shop.example.com")
        )
        ((_, return_path, _),) = r.received()
    assert return_path == "bounces+7@shop.example.com"


@pytest.mark.parametrize("kind", KINDS)
def test_the_dkim_wrapper_signs_what_any_mailer_hands_over(
    kind: str, tmp_path: Path, dkim_key: tuple[str, str]
) -> None:
    private, public = dkim_key
    signer = DkimSigner("reactivator", "shop.example.com", private.encode())
    with rig(kind, tmp_path, signer) as r:
        message = letter("ann@example.com")
        deliver(r.mailer, Outgoing(message, "ann@example.com"))
        ((_, _, data),) = r.received()
    assert data.startswith(b"DKIM-Signature:")
    assert data.endswith(message.as_bytes())  # the letter itself is untouched
    assert dkim.verify(data, dnsfunc=dkim_dns(public))


@pytest.mark.parametrize("kind", KINDS)
def test_a_reachable_transport_passes_its_probe_and_takes_letters_concurrently(
    kind: str, tmp_path: Path
) -> None:
    with rig(kind, tmp_path) as r:

        async def go() -> None:
            await r.mailer.probe()
            await r.mailer.close()

        run(go())
        assert r.mailer.concurrency >= 1


@pytest.mark.parametrize("kind", KINDS)
def test_an_unreachable_transport_fails_its_probe_with_a_temporary_reason(kind: str) -> None:
    if kind == "memory":
        mailer: Mailer = MemoryMailer(reachable=False)
    else:  # nobody listens on the port
        mailer = SmtpPool(_settings(free_port()).smtp, "hello@shop.example.com")
    with pytest.raises(DeliveryError) as exc:
        run(mailer.probe())
    assert exc.value.reason is Refusal.TEMPORARY
    assert not exc.value.permanent


REFUSALS = [
    ("550 5.1.1 no such user", Refusal.BAD_MAILBOX),
    ("550 5.7.1 message refused by policy", Refusal.POLICY),
    ("554 transaction failed", Refusal.PERMANENT),
    ("451 4.3.0 try again later", Refusal.TEMPORARY),
]


@pytest.mark.parametrize("kind", REFUSING)
@pytest.mark.parametrize(("reply", "reason"), REFUSALS, ids=[r.value for _, r in REFUSALS])
def test_a_refusal_comes_back_as_its_reason_and_the_mailer_goes_on(
    kind: str, reply: str, reason: Refusal, tmp_path: Path
) -> None:
    with rig(kind, tmp_path) as r:
        code = int(reply[:3])
        r.refuse("no@example.com", reply, DeliveryError(reply, reason=reason, code=code))

        async def go() -> DeliveryError:
            try:
                await r.mailer.send(Outgoing(letter("no@example.com"), "no@example.com"))
            except DeliveryError as exc:
                await r.mailer.send(Outgoing(letter("yes@example.com", 2), "yes@example.com"))
                return exc
            finally:
                await r.mailer.close()
            raise AssertionError("the refusal was not reported")

        error = run(go())
        received = r.received()
    assert error.reason is reason
    assert error.permanent is (reason is not Refusal.TEMPORARY)
    assert error.code == code
    assert [to for to, _, _ in received] == ["yes@example.com"]


def test_the_factory_builds_the_configured_transport_signed_when_dkim_asks(
    monkeypatch: pytest.MonkeyPatch, dkim_key: tuple[str, str]
) -> None:
    plain = build_mailer(_settings(2525))
    assert isinstance(plain, SmtpPool)
    assert plain.settings.port == 2525
    monkeypatch.setenv("REACTIVATOR_DKIM_PRIVATE_KEY", dkim_key[0])
    signed = build_mailer(_settings(2525, dkim={"domain": "shop.example.com"}), timeout_seconds=5)
    assert isinstance(signed, SigningMailer)
    assert isinstance(signed.inner, SmtpPool)
    assert signed.inner.settings.timeout_seconds == 5
