"""DKIM signatures (dkimpy) over the headers receivers judge, one-click unsubscribe included.

Signing wraps whatever mailer carries the letters, so every letter that
leaves, a preview page's test letter too, is signed the same way. Gmail and
Yahoo require List-Unsubscribe and List-Unsubscribe-Post to be covered by the
DKIM signature for one-click unsubscribe to count.
"""

from __future__ import annotations

import base64
import os
from dataclasses import replace

import dkim

from reactivator.config import DkimSettings
from reactivator.core.ports import Mailer, Outgoing
from reactivator.errors import ConfigError

PRIVATE_KEY_ENV = "REACTIVATOR_DKIM_PRIVATE_KEY"  # the variable's name, not a key
SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"Reply-To",
    b"MIME-Version",
    b"Content-Type",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
    b"Feedback-ID",  # Gmail's feedback loop trusts it only when the domain's signature covers it
)


class DkimSigner:
    """Signs the wire bytes of a letter."""

    def __init__(self, selector: str, domain: str, private_key_pem: bytes) -> None:
        self.selector = selector.encode()
        self.domain = domain.encode()
        self.key = private_key_pem

    def __call__(self, message: bytes) -> bytes:
        signature = dkim.sign(
            message,
            self.selector,
            self.domain,
            self.key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )
        return bytes(signature) + message


def dkim_signer(settings: DkimSettings) -> DkimSigner | None:
    """The signer the settings ask for, or None when DKIM signing is off."""
    if not settings.domain:
        return None
    key = os.environ.get(PRIVATE_KEY_ENV, "").strip()
    if not key:
        raise ConfigError(
            [
                f"dkim.domain = {settings.domain!r} asks for DKIM signing: "
                f"set {PRIVATE_KEY_ENV} to the PEM private key"
            ]
        )
    return DkimSigner(settings.selector, settings.domain, key.encode())


class SigningMailer:
    """Any mailer, with every letter DKIM-signed on its way through."""

    def __init__(self, inner: Mailer, sign: DkimSigner) -> None:
        self.inner = inner
        self.sign = sign

    @property
    def concurrency(self) -> int:
        return self.inner.concurrency

    async def send(self, letter: Outgoing) -> None:
        await self.inner.send(replace(letter, data=self.sign(letter.wire())))

    async def probe(self) -> None:
        await self.inner.probe()

    async def close(self) -> None:
        await self.inner.close()


def public_key_record(private_pem: str) -> tuple[str, str]:
    """(k=, p=) of the DKIM record that matches a private key (RFC 6376 RSA, RFC 8463 Ed25519)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    try:
        key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            [f"{PRIVATE_KEY_ENV} is not a PEM private key without a password ({exc})"]
        ) from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "ed25519", base64.b64encode(raw).decode()
    if isinstance(key, rsa.RSAPrivateKey):
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return "rsa", base64.b64encode(der).decode()
    raise ConfigError([f"{PRIVATE_KEY_ENV} holds neither an RSA nor an Ed25519 key"])
