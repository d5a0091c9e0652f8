"""The words of the pages a letter's reader opens (unsubscribe, pause, survey), in their language."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_question": "Stop receiving these letters from {shop}?",
        "unsubscribe_button": "Unsubscribe",
        "pause_offer": "Or take a break: no letters from us for three months.",
        "pause_button": "Pause for 3 months",
        "paused_title": "Letters paused",
        "paused_text": "No letters from {shop} until {until}. Then we will write again, now and then.",
        "unsubscribed_title": "You are unsubscribed",
        "unsubscribed_text": "You will get no more of these letters from {shop}.",
        "already_title": "You are already unsubscribed",
        "already_text": "You get no letters of this kind from {shop}; there is nothing more to do.",
        "survey_title": "Why did you stop buying?",
        "survey_text": "One click tells us, and helps us get better:",
        "thanks_title": "Thank you",
        "thanks_text": "Your answer helps us get better.",
        "back": "Back to {shop}",
    },
    "ru": {
        "unsubscribe_title": "Отписка",
        "unsubscribe_question": "Больше не получать эти письма от «{shop}»?",
        "unsubscribe_button": "Отписаться",
        "pause_offer": "Или сделайте перерыв: три месяца мы не будем Вам писать.",
        "pause_button": "Пауза на 3 месяца",
        "paused_title": "Письма на паузе",
        "paused_text": "До {until} писем от «{shop}» не будет. Потом мы иногда будем снова писать.",
        "unsubscribed_title": "Вы отписаны",
        "unsubscribed_text": "Больше таких писем от «{shop}» не будет.",
        "already_title": "Вы уже отписаны",
        "already_text": "Таких писем от «{shop}» Вы не получаете, больше ничего делать не нужно.",
        "survey_title": "Почему Вы перестали у нас покупать?",
        "survey_text": "Ответьте одним нажатием, это поможет нам стать лучше:",
        "thanks_title": "Спасибо",
        "thanks_text": "Ваш ответ поможет нам стать лучше.",
        "back": "Вернуться в «{shop}»",
    },
}


def words(locale: str, shop: str, until: str = "") -> dict[str, str]:
    chosen = WORDS.get(locale, WORDS["en"])
    return {key: text.format(shop=shop, until=until) for key, text in chosen.items()}
