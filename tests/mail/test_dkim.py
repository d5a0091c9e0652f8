"""DKIM signatures made with dkimpy verify, and cover the one-click unsubscribe headers."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import dkim
import pytest

from reactivator.service.app import app_from_settings
from reactivator.service.delivery import send_with_configured_mailer
from reactivator.service.passes import enroll_and_queue
from tests.conftest import NOW, dkim_dns, make_settings
from tests.helpers import dormant_customer
from tests.smtp_servers import CaptureHandler, smtp_server


def test_letters_are_signed_and_the_signature_covers_list_unsubscribe(
    sqlite_url: str, dkim_key: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    private, public = dkim_key
    monkeypatch.setenv("REACTIVATOR_DKIM_PRIVATE_KEY", private)
    handler = CaptureHandler()
    with smtp_server(handler) as port:
        app = app_from_settings(
            make_settings(sqlite_url, smtp={"port": port}, dkim={"domain": "shop.example.com"})
        )
        dormant_customer(app, "ann", NOW, 100)
        enroll_and_queue(app, NOW)
        assert asyncio.run(send_with_configured_mailer(app, NOW)).sent == 1
        app.db.dispose()
    ((_, message),) = handler.messages
    (raw,) = handler.raw
    header = str(message["DKIM-Signature"])
    signed = re.search(r"h=([^;]+)", header.replace("\r\n", "").replace(" ", ""))
    assert signed is not None
    names = {h.lower() for h in signed.group(1).split(":")}
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= names

    dns = dkim_dns(public)
    assert dkim.verify(raw, dnsfunc=dns)
    tampered = raw.replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: nothing"
    )
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_asked_for_without_a_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from reactivator.config import DkimSettings
    from reactivator.errors import ConfigError
    from reactivator.mail.dkim_signing import dkim_signer

    monkeypatch.delenv("REACTIVATOR_DKIM_PRIVATE_KEY", raising=False)
    assert dkim_signer(DkimSettings()) is None  # off by default
    with pytest.raises(ConfigError, match="REACTIVATOR_DKIM_PRIVATE_KEY"):
        dkim_signer(DkimSettings(domain="shop.example.com"))
