"""Single-use coupon codes that people can read aloud and type without mistakes."""

from __future__ import annotations

import secrets

# No 0/O, 1/I/L, 5/S or 8/B look-alikes.
ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"
CODE_LENGTH = 10


def new_coupon_code(prefix: str = "") -> str:
    """A fresh random code like ``K7QH-9PXM-3T`` (about 48 bits of randomness)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return prefix + "-".join((raw[:4], raw[4:8], raw[8:]))


def normalise_coupon(code: str) -> str:
    """Codes are matched case-insensitively and without surrounding spaces."""
    return code.strip().upper()
