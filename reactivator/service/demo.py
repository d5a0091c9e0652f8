"""A deterministic demo shop and two campaign months played out on it.

The shop (Faker with a fixed seed, English and Russian customers) has two
years of purchases. The demo plays the campaign forward with a holdout of 10%:
a pass 120 days ago, purchases arriving in time order, a pass 60 days ago, and
a pass now. That leaves every case in the database: returned customers,
customers lost twice who get the one apology letter, the unsubscribed, bad
payers, quiet hours, the control group and the rest.

Its customers follow a known truth, so that the report has something true to
find. Everybody enrolled comes back on their own with the chance ON_THEIR_OWN
of their entry tier (no code, within two months), whichever arm they are in;
the shop's own history adds more such returns. A customer who is sent the
letters also comes back because of them, with the coupon of the first one,
with the extra chance LETTER_EFFECT of their tier. So the letters raise the
return rate by about LETTER_EFFECT per tier (a little less, where a customer
would have come back anyway), and the control group shows what happens
without them.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from faker import Faker

from reactivator.config import DatabaseSettings, load_settings
from reactivator.config.demo_images import write_local
from reactivator.config.demo_shop import CATALOG
from reactivator.core.feedback import FeedbackEvent, FeedbackKind
from reactivator.core.model import Subscription
from reactivator.core.records import CustomerRecord, OrderLine, OrderRecord, ProductRecord
from reactivator.db import letters as letter_rows
from reactivator.db.catalog import upsert_products
from reactivator.db.customers import set_subscription
from reactivator.db.engagement import record_engagement, record_survey_answer
from reactivator.db.holdout import set_holdout_salt
from reactivator.db.orders import write_orders
from reactivator.mail.capture import CaptureServer
from reactivator.mail.memory import MemoryMailer
from reactivator.service.app import App, app_from_settings
from reactivator.service.delivery import SendReport, send_due, send_with_configured_mailer
from reactivator.service.demo_samples import Sample, write_samples
from reactivator.service.feedback_intake import Intake, IntakeReport
from reactivator.service.imports import record_customers
from reactivator.service.passes import PassReport, enroll_and_queue
from reactivator.service.reporting.campaign import CampaignReport, campaign_report
from reactivator.service.reporting.segments import SegmentReport, segments

SEED = 20_240_901
CUSTOMERS = 2_000
HOLDOUT_PERCENT = 10.0
DEMO_SALT = "demo-shop"  # a real shop's salt is random and secret (db upgrade makes it)
# The known truth, per entry tier (the ladder step a customer enters at).
ON_THEIR_OWN = (0.06, 0.04, 0.03)
LETTER_EFFECT = (0.20, 0.15, 0.10)
ZONES = {
    "en": ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London", "Australia/Sydney"),
    "ru": (
        "Europe/Moscow",
        "Europe/Kaliningrad",
        "Asia/Yekaterinburg",
        "Asia/Novosibirsk",
        "Asia/Vladivostok",
    ),
}
MANAGERS = ("Anna Petrova", "Mark Ellis", "Olga Smirnova", "Jane Cooper")
PHASES_DAYS_AGO = (120, 60, 0)


@dataclass(frozen=True)
class DemoResult:
    segments: SegmentReport
    pass_report: PassReport
    sent: SendReport
    campaign: CampaignReport
    letters_written: int
    samples: list[Sample]  # one letter per step and language, with a customer who had it


def make_shop(now: datetime, seed: int = SEED) -> tuple[list[CustomerRecord], list[OrderRecord]]:
    """The demo shop's customers and two years of orders, the same for the same seed and `now`."""
    rng = random.Random(seed)
    baskets = random.Random(seed + 7)  # what the orders held: apart, so the rest stays as it was
    fakers = {"en": Faker("en_US"), "ru": Faker("ru_RU")}
    for i, fake in enumerate(fakers.values()):
        fake.seed_instance(seed + i)
    people: list[CustomerRecord] = []
    orders: list[OrderRecord] = []
    for n in range(1, CUSTOMERS + 1):
        locale = "ru" if n % 2 == 0 else "en"
        fake = fakers[locale]
        external_id = f"C{n:05d}"
        tags = set()
        roll = rng.random()
        if roll < 0.06:
            tags.add("vip")
        elif roll < 0.11:
            tags.add("bad_payer")
        people.append(
            CustomerRecord(
                external_id=external_id,
                email=f"{external_id.lower()}@{'example.com' if locale == 'en' else 'example.ru'}",
                email_key=f"{external_id.lower()}@{'example.com' if locale == 'en' else 'example.ru'}",
                first_name=fake.first_name() if rng.random() > 0.05 else None,
                last_name=fake.last_name(),
                locale=locale,
                timezone=rng.choice(ZONES[locale]),
                account_manager=rng.choice(MANAGERS),
                tags=frozenset(tags),
                unsubscribed=rng.random() < 0.03,
            )
        )
        if rng.random() < 0.05:
            continue  # signed up, never bought
        orders.extend(_history(rng, baskets, external_id, now, "vip" in tags))
    return people, orders


def _history(
    rng: random.Random, baskets: random.Random, customer: str, now: datetime, vip: bool
) -> list[OrderRecord]:
    count = rng.randint(3, 14) if vip else rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 8))
    last_days_ago = rng.uniform(0, 730)
    span = rng.uniform(0, 730 - last_days_ago)
    favourite = baskets.choice(CATEGORIES)
    result = []
    for k in range(count):
        days_ago = last_days_ago + (span * k / max(count - 1, 1))
        placed = now - timedelta(days=days_ago, minutes=rng.randint(0, 600))
        amount = rng.randint(1500, 30000) * (3 if vip else 1)
        lines = _basket(baskets, favourite)
        result.append(OrderRecord(f"{customer}-O{k + 1:02d}", customer, placed, amount, "USD", lines=lines))
    return result


CATEGORIES = tuple(sorted({category for *_, category in CATALOG}))
# What goes with what in the demo shop: the partners its baskets favour.
PARTNERS = {
    "linen-shirt": "merino-scarf",
    "merino-scarf": "linen-shirt",
    "leather-sneakers": "canvas-tote",
    "canvas-tote": "leather-sneakers",
    "trail-boots": "weekend-bag",
    "weekend-bag": "trail-boots",
}


def _basket(rng: random.Random, favourite: str) -> tuple[OrderLine, ...]:
    """One to three products: mostly from the customer's favourite category, often with a partner."""
    by_slug = {slug: (name, price, category) for slug, name, _ru, price, category in CATALOG}
    mine = [slug for slug, (_, _, category) in by_slug.items() if category == favourite]
    first = rng.choice(mine) if rng.random() < 0.7 else rng.choice(list(by_slug))
    chosen = [first]
    if rng.random() < 0.5:
        chosen.append(PARTNERS[first])
    if rng.random() < 0.2:
        chosen.append(rng.choice([slug for slug in by_slug if slug not in chosen]))
    return tuple(
        OrderLine(by_slug[slug][0], 1, round(by_slug[slug][1] * 100), sku=slug.upper(), product_ref=slug)
        for slug in chosen
    )


def catalog_records() -> list[ProductRecord]:
    """The demo shop's catalog, with its Russian names; the trail boots are sold out."""
    return [
        ProductRecord(
            external_id=slug,
            name=name,
            url=f"https://shop.example.com/p/{slug}",
            price_cents=round(price * 100),
            image_url=f"https://shop.example.com/static/email/products/{slug}.jpg",
            category=category,
            in_stock=slug != "trail-boots",
            names=(("ru", name_ru),),
            skus=(slug.upper(),),
        )
        for slug, name, name_ru, price, category in CATALOG
    ]


def run_demo(db_path: Path, outbox_dir: Path, now: datetime, config: Path | None = None) -> DemoResult:
    """Build the demo database from scratch, play the campaign forward, and report."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    settings = load_settings(config, database=DatabaseSettings(url=f"sqlite:///{db_path}"))
    campaign = settings.campaign.model_copy(update={"holdout_percent": HOLDOUT_PERCENT})
    settings = settings.model_copy(update={"campaign": campaign})
    app = app_from_settings(settings, require_schema=False)
    app.db.upgrade()
    with app.db.write() as conn:  # the same groups on every run of the demo
        set_holdout_salt(conn, DEMO_SALT, now)
    people, history = make_shop(now)
    start = now - timedelta(days=730)
    record_customers(app, people, start)
    with app.db.write() as conn:
        upsert_products(conn, list(enumerate(catalog_records(), start=1)), start)
    rng = random.Random(SEED)
    history_mailer = MemoryMailer(keep=False)  # the months played forward: their letters are history
    pending = sorted(history, key=lambda o: o.placed_at)
    report: PassReport | None = None
    sent = SendReport()
    if outbox_dir.exists():
        shutil.rmtree(outbox_dir)
    for days_ago in PHASES_DAYS_AGO:
        at = now - timedelta(days=days_ago)
        pending = _feed_orders(app, pending, at)
        report = enroll_and_queue(app, at)
        if days_ago:
            sent = asyncio.run(send_due(app, history_mailer, at))
            # Half a day later every time zone has had its morning: the letters held
            # for quiet hours go out then, as a daemon would send them.
            sent.add(asyncio.run(send_due(app, history_mailer, at + timedelta(hours=12))))
            _readers(app, rng, at, at + timedelta(hours=12))
            pending = sorted(pending + _responses(app, rng, at), key=lambda o: o.placed_at)
    assert report is not None
    # Today's letters go through the real SMTP path into a capture server.
    with CaptureServer(outbox_dir, html_filter=write_local) as capture:
        live = app_from_settings(
            settings.model_copy(
                update={"smtp": settings.smtp.model_copy(update={"host": "127.0.0.1", "port": capture.port})}
            )
        )
        sent = asyncio.run(send_with_configured_mailer(live, now))
        live.db.dispose()
    results = campaign_report(app, now)
    samples = write_samples(app, now, outbox_dir / "samples")
    return DemoResult(segments(app, now, detail=True), report, sent, results, capture.received, samples)


def _feed_orders(app: App, pending: list[OrderRecord], until: datetime) -> list[OrderRecord]:
    """Record the orders placed before `until`, in time order; return the rest."""
    due = [o for o in pending if o.placed_at < until]
    with app.db.write() as conn:
        for chunk_start in range(0, len(due), 500):
            chunk = due[chunk_start : chunk_start + 500]
            write_orders(conn, list(enumerate(chunk, start=1)), until, app.attribution)
    return [o for o in pending if o.placed_at >= until]


def _responses(app: App, rng: random.Random, at: datetime) -> list[OrderRecord]:
    """How the customers this pass enrolled respond: on their own, and (if sent letters) to them."""
    with app.db.read() as conn:
        enrolled = letter_rows.enrolled_by_pass(conn, at)
    orders = []
    for e in enrolled:
        tier = min(e.entry_step, len(LETTER_EFFECT) - 1) if e.kind == "ladder" else 0
        if rng.random() < ON_THEIR_OWN[tier]:
            placed = at + timedelta(days=rng.uniform(5, 60))
            orders.append(_order(rng, e.external_id, placed, None))
        elif e.coupon_code is not None and e.arm != "control" and rng.random() < LETTER_EFFECT[tier]:
            placed = at + timedelta(days=rng.uniform(2, 25))
            orders.append(_order(rng, e.external_id, placed, e.coupon_code))
    return orders


def _readers(app: App, rng: random.Random, start: datetime, end: datetime) -> None:
    """What people (and their mail providers' machines) do with the letters they were sent."""
    with app.db.read() as conn:
        sent = letter_rows.sent_between(conn, start, end)
    reasons = app.settings.campaign.survey_reasons
    came_back: list[FeedbackEvent] = []
    with app.db.write() as conn:
        for letter in sent:
            soon = letter.sent_at + timedelta(minutes=rng.uniform(1, 3000))
            if rng.random() < 0.2:  # an image proxy fetches the pixel at delivery
                record_engagement(
                    conn, letter.letter_id, letter.customer_id, "open", None, True, "proxy", soon
                )
            if rng.random() < 0.38:
                record_engagement(
                    conn, letter.letter_id, letter.customer_id, "open", None, False, "mail", soon
                )
                if rng.random() < 0.25:
                    link = "https://shop.example.com/"
                    record_engagement(
                        conn, letter.letter_id, letter.customer_id, "click", link, False, "web", soon
                    )
                if rng.random() < 0.08:
                    reason = rng.choice(reasons)
                    record_survey_answer(conn, letter.customer_id, letter.letter_id, reason, soon)
                if rng.random() < 0.02:
                    set_subscription(
                        conn, letter.customer_id, Subscription.UNSUBSCRIBED, soon, "unsubscribed by link"
                    )
            news = _what_comes_back(letter.letter_id, soon)
            if news is not None:
                came_back.append(news)
    # Bounces, a complaint now and then, replies: through the same intake as a real mailbox.
    Intake.start(app, end).apply(came_back, end, IntakeReport())


_REPLIES = (
    ("Re: We miss you", "Hello! I moved to another city. Do you deliver to Kazan?"),
    ("Re: Did we say something wrong?", "The last parcel came damaged and nobody answered my email."),
    ("Re: Мы скучаем", "Здравствуйте! А есть ли у вас подарочные сертификаты?"),
)


def _what_comes_back(letter_id: int, at: datetime) -> FeedbackEvent | None:
    # A generator of its own per letter: the readers' draws (the demo's known effect) stay as they were.
    rng = random.Random(SEED * 31 + letter_id)
    roll = rng.random()
    key = f"demo:{letter_id}"
    if roll < 0.012:
        said = "550 5.1.1 The email account that you tried to reach does not exist"
        kind, reason = FeedbackKind.HARD_BOUNCE, "user_unknown"
    elif roll < 0.02:
        said = "552 5.2.2 The email account that you tried to reach is over quota"
        kind, reason = FeedbackKind.SOFT_BOUNCE, "mailbox_full"
    elif roll < 0.0215:
        said, kind, reason = "", FeedbackKind.COMPLAINT, "abuse"
    elif roll < 0.026:
        subject, text = rng.choice(_REPLIES)
        return FeedbackEvent(
            FeedbackKind.REPLY, "demo", key, letter_id=letter_id, subject=subject, text=text, occurred_at=at
        )
    else:
        return None
    return FeedbackEvent(kind, "demo", key, letter_id=letter_id, reason=reason, detail=said, occurred_at=at)


def _order(rng: random.Random, customer: str, placed: datetime, code: str | None) -> OrderRecord:
    amount = rng.randint(2000, 20000)
    return OrderRecord(f"{customer}-R{rng.randint(1000, 9999)}", customer, placed, amount, "USD", code)
