"""Validators that several sections share: URLs, time zones, slugs, addresses."""

from __future__ import annotations

import re
import zoneinfo

from email_validator import EmailNotValidError, validate_email

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def check_url(v: str) -> str:
    if not re.match(r"^https?://[^\s/]+", v):
        raise ValueError("give an absolute http(s) URL such as https://shop.example.com/sale")
    return v


def check_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("use an IANA time zone name such as Europe/Moscow or UTC") from exc
    return name


def check_plain_address(v: str) -> str:
    """An address without a display name, normalised; empty stays empty."""
    if not v:
        return v
    try:
        return validate_email(v, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"give a plain address like hello@shop.example.com ({exc})") from None
