"""The public endpoints over real HTTP, on both backends: tracking, unsubscribe, survey, webhook."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from reactivator.core.routes import survey_code
from reactivator.db.customers import find_customer
from reactivator.db.tables import customers, engagements, letters, orders, survey_answers
from reactivator.mail.memory import MemoryMailer
from reactivator.render.links import Tokens
from reactivator.service.app import App, app_from_settings
from reactivator.service.delivery import send_due
from reactivator.service.engagement import Engagement
from reactivator.service.letters import signing_keys
from reactivator.service.passes import enroll_and_queue
from reactivator.web.endpoints import build_web_app
from tests.conftest import NOW, make_settings
from tests.helpers import dormant_customer
from tests.smtp_servers import free_port
from tests.web.conftest import running

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130 Safari/537.36"
PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
SECRET = "webhook-secret-for-tests"


@dataclass
class Site:
    url: str
    app: App
    links: dict[str, list[str]]  # per customer: every link of the letter they got
    http: httpx.Client

    def count(self, table: Any) -> int:
        with self.app.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def subscription(self, ref: str) -> str:
        with self.app.db.read() as conn:
            customer = find_customer(conn, ref)
        assert customer is not None
        return customer.subscription.value

    def link(self, customer: str, kind: str) -> str:
        return next(u for u in self.links[customer] if f"/{kind}/" in u)


@pytest.fixture
def site(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("REACTIVATOR_WEBHOOK_SECRET", SECRET)
    port = free_port()
    app = app_from_settings(make_settings(db_url, web={"base_url": f"http://127.0.0.1:{port}"}))
    for name in ("ann", "bob", "cid"):
        dormant_customer(app, name, NOW, 100, locale="ru" if name == "cid" else "en")
    enroll_and_queue(app, NOW)
    mailer = MemoryMailer()
    asyncio.run(send_due(app, mailer, NOW))
    found: dict[str, list[str]] = {}
    for recipient, message in mailer.sent:
        html = message.get_body(("html",))
        assert html is not None
        body = html.get_content()
        found[recipient.split("@")[0]] = [
            u.replace("&amp;", "&") for u in re.findall(r'(?:href|src)="([^"]+)"', body)
        ]
    with running(build_web_app(Engagement.start(app, NOW)), port) as url, httpx.Client(base_url=url) as http:
        yield Site(url, app, found, http)
    app.db.dispose()


def test_opens_and_clicks_are_recorded_with_machines_flagged(site: Site) -> None:
    pixel = site.link("ann", "o")
    assert site.http.get(pixel, headers={"User-Agent": BROWSER}).headers["content-type"] == "image/gif"
    assert site.http.get(pixel, headers={"User-Agent": PROXY}).status_code == 200
    click = next(u for u in site.links["ann"] if "/c/" in u)
    person = site.http.get(click, headers={"User-Agent": BROWSER})
    assert person.status_code == 302
    assert person.headers["location"].startswith("https://shop.example.com")
    assert site.http.head(click, headers={"User-Agent": BROWSER}).status_code in (302, 405)
    with site.app.db.read() as conn:
        rows = sorted(
            (r.kind, r.machine) for r in conn.execute(select(engagements.c.kind, engagements.c.machine))
        )
    assert ("open", False) in rows
    assert ("open", True) in rows
    assert ("click", False) in rows
    assert site.subscription("ann") == "subscribed"  # nothing but a purchase changes a customer's state


def test_a_click_only_ever_redirects_where_the_letter_pointed(site: Site) -> None:
    click = next(u for u in site.links["ann"] if "/c/" in u)
    token = click.rsplit("/", 1)[1]
    keys = Tokens(signing_keys(site.app, NOW))
    forged_payload = json.dumps([1, "https://evil.example"]).encode()
    bad = [
        token[:-4],  # truncated
        token[:10] + ("A" if token[10] != "A" else "B") + token[11:],  # tampered
        site.link("ann", "o").rsplit("/", 1)[1].removesuffix(".gif"),  # an open token
        Tokens(["another-key-" + "x" * 20]).sign("click", [1, "https://evil.example"]),  # someone else's key
        forged_payload.hex(),
        "x" * 5000,
    ]
    before = site.count(engagements)
    for token_text in bad:
        response = site.http.get(f"/c/{token_text}")
        assert response.status_code in (400, 404), token_text
        assert "location" not in response.headers
    # A genuine signature for a letter that does not exist: 404.
    assert (
        site.http.get(f"/c/{keys.sign('click', [999_999, 'https://shop.example.com/'])}").status_code == 404
    )
    assert site.count(engagements) == before


def test_one_click_unsubscribe_follows_rfc_8058(site: Site) -> None:
    link = site.link("bob", "u")
    page = site.http.get(link, headers={"User-Agent": BROWSER})
    assert page.status_code == 200
    assert "Unsubscribe" in page.text
    assert site.subscription("bob") == "subscribed"  # a GET (or a link scanner) changes nothing
    refused = site.http.post(
        link, content=b"something=else", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert refused.status_code == 400
    assert site.subscription("bob") == "subscribed"
    done = site.http.post(
        link,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200
    assert site.subscription("bob") == "unsubscribed"
    again = site.http.post(
        link,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status_code == 200  # idempotent, and the token never expires


def test_survey_answers_are_recorded_for_people_only(site: Site) -> None:
    code = survey_code("too-expensive")
    answer = next(u for u in site.links["cid"] if u.endswith(f"/{code}"))
    assert "too-expensive" not in " ".join(site.links["cid"])  # codes, not words, in the links
    assert site.http.get(answer, headers={"User-Agent": PROXY}).status_code == 200
    assert site.count(survey_answers) == 0
    thanks = site.http.get(answer, headers={"User-Agent": BROWSER})
    assert thanks.status_code == 200
    assert "Спасибо" in thanks.text  # cid reads Russian
    assert 'href="https://shop.example.com"' in thanks.text  # and the page leads back to the shop
    other = answer.replace(f"/{code}", "/delivery")  # the first letters named the reason: still read
    assert site.http.get(other, headers={"User-Agent": BROWSER}).status_code == 200
    with site.app.db.read() as conn:
        assert list(conn.execute(select(survey_answers.c.reason)).scalars()) == [
            "delivery"
        ]  # the latest wins
    assert site.http.get(answer.replace(f"/{code}", "/not-a-reason")).status_code == 404


def test_the_survey_page_lists_the_answers_in_the_readers_language(site: Site) -> None:
    answer = site.link("cid", "s")
    listing = site.http.get(answer.rsplit("/", 1)[0], headers={"User-Agent": BROWSER})
    assert listing.status_code == 200
    assert 'lang="ru"' in listing.text
    assert "Слишком дорого" in listing.text  # the marketer's words from ru/_strings.j2
    assert f"/{survey_code('too-expensive')}" in listing.text
    assert site.count(survey_answers) == 0  # opening the list answers nothing


def test_the_unsubscribe_page_speaks_the_readers_language_and_knows_it_is_done(site: Site) -> None:
    link = site.link("cid", "u")
    first = site.http.get(link, headers={"User-Agent": BROWSER})
    assert ('lang="ru"' in first.text, "Отписаться" in first.text) == (True, True)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    site.http.post(link, content=b"List-Unsubscribe=One-Click", headers=form)
    again = site.http.get(link, headers={"User-Agent": BROWSER})
    assert "Вы уже отписаны" in again.text
    assert 'id="confirm"' not in again.text  # nothing left to ask
    english = site.http.get(site.link("ann", "u"), headers={"User-Agent": BROWSER})
    assert 'lang="en"' in english.text


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Reactivator-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def test_the_purchase_webhook_records_signed_orders_once(site: Site) -> None:
    placed = datetime.now(UTC).isoformat()
    body = json.dumps({"id": "W-1", "customer_id": "ann", "placed_at": placed, "amount": "42.50"}).encode()
    assert (
        site.http.post("/webhooks/purchase", content=body, headers=signed(body, "wrong")).status_code == 401
    )
    assert site.http.post("/webhooks/purchase", content=body).status_code == 401
    assert site.count(orders) == 3  # the three customers' original orders only
    first = site.http.post("/webhooks/purchase", content=body, headers=signed(body))
    assert first.status_code == 200
    assert first.json() == {"order": "W-1", "stored": True, "returned": True}
    replay = site.http.post("/webhooks/purchase", content=body, headers=signed(body))
    assert replay.json()["stored"] is False  # idempotent by order id
    assert site.count(orders) == 4
    garbage = b"{not json"
    assert site.http.post("/webhooks/purchase", content=garbage, headers=signed(garbage)).status_code == 400
    unknown = json.dumps({"id": "W-2", "customer_id": "nobody", "placed_at": placed, "amount": "1"}).encode()
    assert site.http.post("/webhooks/purchase", content=unknown, headers=signed(unknown)).status_code == 400
    huge = b"{" + b" " * 70_000 + b"}"
    assert site.http.post("/webhooks/purchase", content=huge, headers=signed(huge)).status_code == 413


def test_health_and_metrics(site: Site) -> None:
    assert site.http.get("/healthz").text == "ok"
    metrics = site.http.get("/metrics")
    assert metrics.status_code == 200
    assert 'reactivator_letters{state="sent",step="we-miss-you"} 3.0' in metrics.text


def test_hostile_requests_get_client_errors_and_change_nothing(site: Site) -> None:
    tables = (engagements, survey_answers, orders, letters)
    before = [site.count(t) for t in tables]
    requests = [
        ("GET", "/o/garbage.gif"),
        ("GET", "/o/" + "%00" * 10 + ".gif"),
        ("GET", "/c/..%2F..%2Fetc%2Fpasswd"),
        ("GET", "/u/not-a-token"),
        ("POST", "/u/not-a-token"),
        ("GET", "/s/not-a-token/too-expensive"),
        ("GET", "/c/" + "A" * 60_000),
        ("POST", "/webhooks/purchase"),
        ("PUT", "/webhooks/purchase"),
        ("DELETE", "/u/x"),
    ]
    for method, path in requests:
        response = site.http.request(method, path, content=b"List-Unsubscribe=One-Click")
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
    big = site.http.post(site.link("ann", "u"), content=b"List-Unsubscribe=One-Click" + b"x" * 100_000)
    assert big.status_code == 413
    assert [site.count(t) for t in tables] == before
    assert site.subscription("ann") == "subscribed"


def test_a_reader_may_pause_the_letters_for_three_months_instead(site: Site) -> None:
    from reactivator.service.passes import decision

    link = site.link("ann", "u")
    page = site.http.get(link, headers={"User-Agent": BROWSER})
    assert 'id="pause"' in page.text  # offered beside unsubscribing
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    paused = site.http.post(link, content=b"pause=3-months", headers=form)
    assert paused.status_code == 200
    assert "Letters paused" in paused.text
    assert site.subscription("ann") == "subscribed"  # a break, not goodbye
    with site.app.db.read() as conn:
        customer = find_customer(conn, "ann")
        assert customer is not None
        until = conn.execute(select(customers.c.paused_until).where(customers.c.id == customer.id)).scalar()
    assert until is not None
    assert 85 < (until - datetime.now(UTC)).days <= 91
    soon = decision(site.app, customer.id, NOW + timedelta(days=60))
    assert soon is not None
    assert soon.verdict.value == "paused"
    later = decision(site.app, customer.id, datetime.now(UTC) + timedelta(days=100))
    assert later is not None
    assert later.verdict.value != "paused"
