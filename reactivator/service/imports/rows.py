"""Turning one raw input row into a validated record, or a plain reason it cannot be."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email

from reactivator.core.coupons import normalise_coupon
from reactivator.core.locales import LOCALES, language_of
from reactivator.core.order_status import OrderStatus
from reactivator.core.records import CustomerRecord, OrderRecord

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"", "0", "false", "no", "n", "f"}
_MAX_CENTS = 10**13  # a hundred billion: anything larger is a unit mix-up
_ZERO = timedelta(0)
_EARLIEST, _LATEST = 1970, 2200


class RowError(ValueError):
    """The row is unusable; the message is the reason shown to the user."""


def _as_text(raw: object, key: str) -> str:
    """JSON lines may carry numbers for ids; anything else that is not text is a mistake."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw)
    raise RowError(f"{key} must be text, not {type(raw).__name__}")


def _text(row: Mapping[str, object], key: str, *, required: bool = False, limit: int = 200) -> str | None:
    raw = row.get(key)
    value = "" if raw is None else _as_text(raw, key).strip()
    if not value:
        if required:
            raise RowError(f"missing {key}")
        return None
    if len(value) > limit:
        raise RowError(f"{key} is longer than {limit} characters")
    if any(ch in value for ch in "\r\n\x00"):
        raise RowError(f"{key} contains a line break or NUL character")
    return value


def _required(row: Mapping[str, object], key: str, limit: int) -> str:
    value = _text(row, key, required=True, limit=limit)
    assert value is not None  # _text raised otherwise
    return value


def parse_customer(row: Mapping[str, object]) -> CustomerRecord:
    """A customer row: id and email required; the rest optional."""
    external_id = _required(row, "id", 128)
    address = _required(row, "email", 320)
    try:
        email = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise RowError(f"invalid email {address!r}: {exc}") from None
    locale = _text(row, "locale", limit=16)
    if locale is not None:
        locale = language_of(locale)
        if locale not in LOCALES:
            raise RowError(f"unsupported locale {locale!r}; use {' or '.join(LOCALES)}")
    tz = _text(row, "timezone", limit=64)
    if tz is not None:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise RowError(f"unknown time zone {tz!r}; use an IANA name like Europe/Moscow") from None
    tags = frozenset(
        t.strip().lower() for t in (_text(row, "tags", limit=1000) or "").split(";") if t.strip()
    )
    for tag in tags:
        if not all(ch.isalnum() or ch in "_-" for ch in tag):
            raise RowError(f"tag {tag!r} may only hold letters, digits, '_' and '-'")
    return CustomerRecord(
        external_id=external_id,
        email=email,
        email_key=email.lower(),
        first_name=_text(row, "first_name"),
        last_name=_text(row, "last_name"),
        locale=locale,
        timezone=tz,
        account_manager=_text(row, "account_manager"),
        tags=tags,
        unsubscribed=_flag(row, "unsubscribed"),
    )


def _flag(row: Mapping[str, object], key: str) -> bool:
    raw = row.get(key)
    if isinstance(raw, bool):
        return raw
    value = "" if raw is None else str(raw).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowError(f"{key} must be true or false, not {raw!r}")


def parse_instant(raw: str, *, field: str = "placed_at") -> datetime:
    """ISO 8601; a time without an offset is taken as UTC."""
    example = "e.g. 2025-03-01T14:30:00+03:00"
    try:
        value = datetime.fromisoformat(raw.strip())  # Python 3.11 reads 'Z' and offsets
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        elif value.utcoffset() != _ZERO:
            value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise RowError(f"bad date in {field}: {raw!r} is not ISO 8601 ({example})") from None
    if not _EARLIEST <= value.year <= _LATEST:
        raise RowError(f"bad date in {field}: {raw!r} is out of range")
    return value


def parse_amount_cents(raw: object) -> int:
    """A non-negative amount with at most two decimals, in cents."""
    text = "" if raw is None else str(raw).strip()
    whole, dot, frac = text.partition(".")
    if (
        whole.isdigit()
        and whole.isascii()
        and (not dot or (frac.isdigit() and frac.isascii() and len(frac) <= 2))
    ):
        cents = int(whole) * 100 + (int(frac.ljust(2, "0")) if frac else 0)  # the common case, fast
    else:
        cents = _decimal_cents(text)
    if cents >= _MAX_CENTS:
        raise RowError(f"amount {text} is implausibly large")
    return cents


def _decimal_cents(text: str) -> int:
    try:
        amount = Decimal(text) if "_" not in text else Decimal("NaN")  # Decimal reads 1_000
    except InvalidOperation:
        raise RowError(f"amount {text!r} is not a number") from None
    if not amount.is_finite():
        raise RowError(f"amount {text!r} is not a number")
    if amount < 0:
        raise RowError(f"negative amount {text}")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise RowError(f"amount {text} has more than two decimals")
    return int(cents)


def _short_text(raw: object, key: str, limit: int) -> str:
    """A required plain string field, checked cheaply (this runs for every imported order)."""
    if raw is None:
        raise RowError(f"missing {key}")
    value = (raw if isinstance(raw, str) else _as_text(raw, key)).strip()
    if not value:
        raise RowError(f"missing {key}")
    if len(value) > limit:
        raise RowError(f"{key} is longer than {limit} characters")
    if "\n" in value or "\r" in value or "\x00" in value:
        raise RowError(f"{key} contains a line break or NUL character")
    return value


def parse_order(row: Mapping[str, object], default_currency: str) -> OrderRecord:
    """An order row: id, customer_id, placed_at, amount required; currency, coupon_code optional."""
    get = row.get
    external_id = _short_text(get("id"), "id", 128)
    customer = _short_text(get("customer_id"), "customer_id", 128)
    placed = parse_instant(_short_text(get("placed_at"), "placed_at", 64))
    amount = get("amount")
    if amount is None or amount == "":
        raise RowError("missing amount")
    if isinstance(amount, bool) or not isinstance(amount, str | int | float):
        raise RowError(f"amount {amount!r} is not a number")
    if isinstance(amount, float):
        amount = repr(amount)  # JSON 12.5 -> "12.5", checked like text
    raw_currency = get("currency")
    currency = default_currency if not raw_currency else _as_text(raw_currency, "currency").strip().upper()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        raise RowError(f"currency {currency!r} is not a 3-letter ISO code")
    coupon = get("coupon_code")
    coupon_code = normalise_coupon(_short_text(coupon, "coupon_code", 64)) if coupon else None
    status = get("status")
    paid = get("paid_at")
    if not status and not paid:  # the common case: a plain purchase
        return OrderRecord(external_id, customer, placed, parse_amount_cents(amount), currency, coupon_code)
    state = _as_text(status, "status").strip().lower() if status else OrderStatus.PLACED.value
    if state not in {s.value for s in OrderStatus}:
        raise RowError(f"status {status!r} is not one of {', '.join(s.value for s in OrderStatus)}")
    paid_at = parse_instant(_short_text(paid, "paid_at", 64), field="paid_at") if paid else None
    cents = parse_amount_cents(amount)
    return OrderRecord(external_id, customer, placed, cents, currency, coupon_code, state, paid_at)
