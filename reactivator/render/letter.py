"""Build a letter's MIME message from plain data.

This is the plain-text letter the engine sends until the marketer templates
(Jinja2, HTML with inlined CSS) take over; it already carries everything the
ladder decided: the step's subject, the discount, the coupon and its expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from reactivator.core.records import ClaimedLetter


@dataclass(frozen=True, slots=True)
class Sender:
    name: str
    email: str
    reply_to: str
    shop_name: str
    website_url: str


_GREETING = {"en": "Hello {name},", "ru": "Здравствуйте, {name}!"}
_NAMELESS = {"en": "friend", "ru": "дорогой покупатель"}
_DISCOUNT = {
    "en": "Your personal discount: {pct}% with code {code}, valid until {until}.",
    "ru": "Ваша персональная скидка: {pct}% по коду {code}, действует до {until}.",
}
_BODY = {
    "en": "We have missed you at {shop}. Come and see what is new: {url}",
    "ru": "Нам Вас не хватало в {shop}. Загляните, у нас много нового: {url}",
}


def build_message(
    letter: ClaimedLetter, subject_template: str, sender: Sender, locale: str, now: datetime
) -> EmailMessage:
    """The finished message for one claimed letter."""
    name = (letter.first_name or "").strip() or _NAMELESS[locale]
    subject = " ".join(subject_template.replace("{name}", name).split())  # no CR/LF can survive
    lines = [
        _GREETING[locale].format(name=name),
        "",
        _BODY[locale].format(shop=sender.shop_name, url=sender.website_url),
    ]
    if letter.coupon_code and letter.coupon_expires_at:
        until = letter.coupon_expires_at.date().isoformat()
        lines += [
            "",
            _DISCOUNT[locale].format(pct=letter.discount_percent, code=letter.coupon_code, until=until),
        ]
    msg = EmailMessage()
    msg["From"] = Address(display_name=sender.name, addr_spec=sender.email)
    msg["To"] = letter.email or ""
    msg["Reply-To"] = sender.reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = letter.message_id
    msg.set_content("\n".join(lines) + "\n")
    return msg
