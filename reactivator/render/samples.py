"""Named sample customers for checks and previews: the cases that break letters.

A template is checked and previewed with each of them: a customer who just
lapsed, a VIP, a very long name, a Cyrillic name, a customer with no first
name, and a name that tries to inject markup and headers.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from reactivator.core.model import EnrollmentStatus, LetterStatus, Step, Subscription
from reactivator.core.records import Letter

SAMPLE_NAMES = ("new", "vip", "long-name", "cyrillic", "no-first-name", "hostile")


def _base(now: datetime) -> Letter:
    return Letter(
        letter_id=0,
        message_id="<sample@reactivator.invalid>",
        step_key="",
        step_index=0,
        kind="ladder",
        discount_percent=0,
        coupon_code=None,
        coupon_expires_at=None,
        customer_id=1,
        customer_external_id="SAMPLE-1",
        email="jane.doe@example.com",
        first_name="Jane",
        last_name="Doe",
        locale="en",
        timezone="UTC",
        account_manager=None,
        tags=frozenset(),
        last_purchase_at=now - timedelta(days=95),
        orders_count=2,
        subscription=Subscription.SUBSCRIBED,
        enrollment_status=EnrollmentStatus.ACTIVE,
        letter_status=LetterStatus.QUEUED,
    )


def sample_letter(name: str, now: datetime) -> Letter:
    """The sample customer `name` (one of SAMPLE_NAMES), before a step is applied."""
    base = _base(now)
    if name == "new":
        return base
    if name == "vip":
        return replace(
            base,
            customer_id=2,
            customer_external_id="SAMPLE-VIP",
            email="victoria.king@example.com",
            first_name="Victoria",
            last_name="King",
            tags=frozenset({"vip", "shoes"}),
            orders_count=47,
            account_manager="Anna Petrova",
            last_purchase_at=now - timedelta(days=200),
        )
    if name == "long-name":
        return replace(
            base,
            customer_id=3,
            customer_external_id="SAMPLE-LONG",
            email="maximiliana.wolfeschlegelsteinhausenberger@example.com",
            first_name="Maximiliana-Theodora Alexandrina",
            last_name="Wolfeschlegelsteinhausenbergerdorff-Montgomery",
            last_purchase_at=now - timedelta(days=400),
        )
    if name == "cyrillic":
        return replace(
            base,
            customer_id=4,
            customer_external_id="SAMPLE-RU",
            email="olga.ivanova@example.ru",
            first_name="Ольга",
            last_name="Иванова",
            locale="ru",
            timezone="Europe/Moscow",
            tags=frozenset({"bags"}),
            last_purchase_at=now - timedelta(days=181),
        )
    if name == "no-first-name":
        return replace(
            base, customer_id=5, customer_external_id="SAMPLE-NONAME", first_name=None, last_name=None
        )
    if name == "hostile":
        return replace(
            base,
            customer_id=6,
            customer_external_id="SAMPLE-HOSTILE",
            first_name='<script>alert("x")</script>Bob\r\nBcc: victim@example.com',
            last_name="{{ 7*7 }}",
        )
    raise ValueError(f"no sample customer {name!r}; choose one of {', '.join(SAMPLE_NAMES)}")


# The samples' names as a customer writing in each language would have them.
_RUSSIAN = {
    "new": ("Мария", "Кузнецова", "maria.kuznetsova@example.ru"),
    "vip": ("Виктория", "Королёва", "victoria.koroleva@example.ru"),
    "long-name": (
        "Александра-Виктория Константиновна",
        "Римская-Корсакова-Воронцова-Дашкова",
        "alexandra.rimskaya-korsakova@example.ru",
    ),
}


def sample_at(name: str, step: Step, now: datetime, locale: str | None = None) -> Letter:
    """Sample customer `name` with a letter of `step` queued for them, away as long as the step's
    customers are (a little past its day), named as a customer of `locale` would be."""
    letter = sample_letter(name, now)
    if locale == "ru" and name in _RUSSIAN:
        first, last, email = _RUSSIAN[name]
        letter = replace(letter, first_name=first, last_name=last, email=email, locale="ru")
    if name != "vip":  # the VIP has a history of their own
        letter = replace(letter, last_purchase_at=now - timedelta(days=step.from_days + 12))
    return at_step(letter, step.key, step.index, step.discount_percent, step.kind, now)


def at_step(
    letter: Letter, step_key: str, step_index: int, discount: int, kind: str, now: datetime
) -> Letter:
    """The sample as it would be for `step_key`: discount, a sample coupon and its expiry."""
    return replace(
        letter,
        step_key=step_key,
        step_index=step_index,
        discount_percent=discount,
        kind=kind,
        coupon_code="SAMPLE-7Q4K9M" if discount else None,
        coupon_expires_at=now + timedelta(days=30) if discount else None,
    )
