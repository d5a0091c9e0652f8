"""DKIM signatures made with dkimpy verify, and cover the one-click unsubscribe headers."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import dkim
import pytest

from reactivator.service.app import app_from_settings
from reactivator.service.passes import enroll_and_queue
from reactivator.service.sending import send_over_smtp
from tests.conftest import NOW, make_settings
from tests.helpers import dormant_customer
from tests.smtp_servers import CaptureHandler, smtp_server


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A fresh 2048-bit key pair (openssl): (private PEM, public key base64 for the DNS record)."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "private.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "PEM"], check=True, capture_output=True
    ).stdout.decode()
    body = "".join(line for line in public.splitlines() if "-----" not in line)
    return private.read_text(), body


def test_letters_are_signed_and_the_signature_covers_list_unsubscribe(
    sqlite_url: str, rsa_key: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    private, public = rsa_key
    monkeypatch.setenv("REACTIVATOR_DKIM_PRIVATE_KEY", private)
    handler = CaptureHandler()
    with smtp_server(handler) as port:
        app = app_from_settings(
            make_settings(sqlite_url, smtp={"port": port}, dkim={"domain": "shop.example.com"})
        )
        dormant_customer(app, "ann", NOW, 100)
        enroll_and_queue(app, NOW)
        assert asyncio.run(send_over_smtp(app, NOW)).sent == 1
        app.db.dispose()
    ((_, message),) = handler.messages
    (raw,) = handler.raw
    header = str(message["DKIM-Signature"])
    signed = re.search(r"h=([^;]+)", header.replace("\r\n", "").replace(" ", ""))
    assert signed is not None
    names = {h.lower() for h in signed.group(1).split(":")}
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= names

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"reactivator._domainkey.shop.example.com."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert dkim.verify(raw, dnsfunc=dns)
    tampered = raw.replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: nothing"
    )
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_asked_for_without_a_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from reactivator.config import DkimSettings
    from reactivator.errors import ConfigError
    from reactivator.smtp.dkim_signing import dkim_signer

    monkeypatch.delenv("REACTIVATOR_DKIM_PRIVATE_KEY", raising=False)
    assert dkim_signer(DkimSettings()) is None  # off by default
    with pytest.raises(ConfigError, match="REACTIVATOR_DKIM_PRIVATE_KEY"):
        dkim_signer(DkimSettings(domain="shop.example.com"))
