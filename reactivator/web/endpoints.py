"""The public web endpoints: tracking, unsubscribe (RFC 8058), survey, purchase webhook, health, metrics.

They face the internet: every request is bounded in size, every token is
verified before anything is read or written, bad input gets a 4xx and never
a 500, and no response tells an outsider more than it must.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from reactivator.core.routes import CLICK, OPEN, SURVEY, UNSUBSCRIBE
from reactivator.db.engagement import engagement_counts, letter_counts
from reactivator.errors import InputError, SignatureError
from reactivator.feedback.esp.ses import Fetch, fetch_https
from reactivator.service.engagement import (
    SIGNATURE_HEADER,
    Engagement,
    NotFound,
    Reader,
    Unauthorized,
    Visit,
)
from reactivator.service.esp_webhooks import EspWebhooks
from reactivator.service.readiness import Readiness
from reactivator.service.shop_webhooks import ShopWebhooks
from reactivator.web.reader_words import words
from reactivator.web.rendering import pages

MAX_BODY_BYTES = 64 * 1024
SHOP_BODY_BYTES = 2 * 1024 * 1024  # a platform's order object with many lines
MAX_TOKEN_CHARS = 4096
_PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_NO_STORE = {"Cache-Control": "no-store, private", "X-Robots-Tag": "noindex"}

Handler = Callable[[Request], Awaitable[Response]]


def _now() -> datetime:
    return datetime.now(UTC)


def _day_in(at: datetime, locale: str) -> str:
    from babel.dates import format_date

    return str(format_date(at.date(), format="long", locale=locale))


def _visit(request: Request) -> Visit:
    return Visit(request.headers.get("user-agent"), request.method, _now())


def _token(request: Request) -> str:
    token = str(request.path_params["token"])
    if len(token) > MAX_TOKEN_CHARS:
        raise InputError("token too long")
    return token


def _guarded(handler: Handler) -> Handler:
    """Our errors become 400/401/404; nothing an outsider sends can make a 500."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except NotFound:
            return PlainTextResponse("not found", status_code=404, headers=_NO_STORE)
        except (Unauthorized, SignatureError) as exc:
            return PlainTextResponse(str(exc), status_code=401, headers=_NO_STORE)
        except InputError as exc:
            return PlainTextResponse(f"bad request: {exc}", status_code=400, headers=_NO_STORE)

    return run


async def _body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused past `limit` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class _TooLarge(Exception):
    pass


class _LetterCollector(Collector):
    """Prometheus gauges read from the ledger at scrape time."""

    def __init__(self, engagement: Engagement) -> None:
        self.engagement = engagement

    def collect(self) -> Any:
        with self.engagement.app.db.read() as conn:
            letters = letter_counts(conn)
            engagements = engagement_counts(conn)
        gauge = GaugeMetricFamily(
            "reactivator_letters", "Letters in the outbox by step and state", labels=["step", "state"]
        )
        for row in letters:
            state = "deferred" if row.deferred else row.status
            gauge.add_metric([row.step_key, state], row.letters)
        yield gauge
        hits = GaugeMetricFamily(
            "reactivator_engagements", "Opens and clicks, machines apart", labels=["kind", "source"]
        )
        for kind, machine, count in engagements:
            hits.add_metric([kind, "machine" if machine else "person"], count)
        yield hits


def build_web_app(
    engagement: Engagement, registry: CollectorRegistry | None = None, esp_fetch: Fetch = fetch_https
) -> Starlette:
    """The public endpoints as an ASGI app (served by `reactivator serve` and the daemon).

    `registry` holds the caller's own metrics (the daemon's); the ledger's gauges are added to it.
    `esp_fetch` fetches SNS signing certificates (HTTPS on SNS hosts only).
    """
    registry = registry or CollectorRegistry(auto_describe=False)
    registry.register(_LetterCollector(engagement))
    readiness = Readiness(engagement.app)

    def page(
        reader: Reader | None, title: str, text: str = "", status: int = 200, **more: Any
    ) -> HTMLResponse:
        """A page a letter's reader opens, in their language (the shop's default when unknown)."""
        settings = engagement.app.settings
        lang = reader.locale if reader else settings.shop.default_locale
        name = reader.shop if reader else settings.shop.name_in(lang)
        said = words(lang, name)
        body = pages.get_template("unsubscribe.html").render(
            lang=lang,
            shop=name,
            title=said.get(title, title),
            text=said.get(text, text),
            back=said["back"],
            back_url=settings.shop.website_url,
            **more,
        )
        return HTMLResponse(body, headers=_NO_STORE)

    @_guarded
    async def pixel(request: Request) -> Response:
        await run_in_threadpool(engagement.opened, _token(request), _visit(request))
        return Response(_PIXEL, media_type="image/gif", headers=_NO_STORE)

    @_guarded
    async def click(request: Request) -> Response:
        url = await run_in_threadpool(engagement.clicked, _token(request), _visit(request))
        return RedirectResponse(url, status_code=302, headers=_NO_STORE)

    @_guarded
    async def unsubscribe(request: Request) -> Response:
        token = _token(request)
        reader = await run_in_threadpool(engagement.reader, token, UNSUBSCRIBE)
        if request.method != "POST":
            # A GET only asks: link scanners open every link, and must not unsubscribe anyone.
            if not reader.subscribed:
                return page(reader, "already_title", "already_text")
            said = words(reader.locale, reader.shop)
            return page(
                reader,
                "unsubscribe_title",
                confirm=True,
                question=said["unsubscribe_question"],
                button=said["unsubscribe_button"],
                pause_offer=said["pause_offer"],
                pause_button=said["pause_button"],
            )
        try:
            body = await _body(request)
        except _TooLarge:
            return PlainTextResponse("request too large", status_code=413)
        if body.strip() == b"pause=3-months":  # the page's other button: a break, not goodbye
            until = await run_in_threadpool(engagement.pause, token, _now())
            said = words(reader.locale, reader.shop, _day_in(until, reader.locale))
            return page(reader, said["paused_title"], said["paused_text"])
        # RFC 8058: the POST carries List-Unsubscribe=One-Click; no login, no confirmation.
        if b"List-Unsubscribe=One-Click" not in body:
            raise InputError("expected List-Unsubscribe=One-Click")
        await run_in_threadpool(engagement.unsubscribe, token, _now())
        return page(reader, "unsubscribed_title", "unsubscribed_text")

    @_guarded
    async def survey_page(request: Request) -> Response:
        """The survey's answers on a page of their own (the plain-text letter links here once)."""
        token = _token(request)
        reader, choices = await run_in_threadpool(engagement.survey_choices, token)
        base = engagement.app.settings.web.base_url + SURVEY.path(token, reason="").rstrip("/")
        return page(reader, "survey_title", "survey_text", choices=choices, base=base)

    @_guarded
    async def survey(request: Request) -> Response:
        reason = str(request.path_params["reason"])
        token = _token(request)
        await run_in_threadpool(engagement.survey, token, reason, _visit(request))
        reader = await run_in_threadpool(engagement.reader, token, SURVEY)
        return page(reader, "thanks_title", "thanks_text")

    @_guarded
    async def purchase(request: Request) -> Response:
        try:
            body = await _body(request)
        except _TooLarge:
            return PlainTextResponse("request too large", status_code=413)
        result = await run_in_threadpool(
            engagement.purchase_webhook, body, request.headers.get(SIGNATURE_HEADER), _now()
        )
        return JSONResponse(result)

    shops = ShopWebhooks(engagement.app)

    def shop_webhook(handle: Callable[[bytes, dict[str, str], datetime], dict[str, object]]) -> Handler:
        @_guarded
        async def receive(request: Request) -> Response:
            try:
                body = await _body(request, SHOP_BODY_BYTES)
            except _TooLarge:
                return PlainTextResponse("request too large", status_code=413)
            headers = {k.lower(): v for k, v in request.headers.items()}
            return JSONResponse(await run_in_threadpool(handle, body, headers, _now()))

        return receive

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        found = await readiness.check()
        ready = all(state == "ok" for state in found.values())
        return JSONResponse(found, status_code=200 if ready else 503, headers=_NO_STORE)

    async def metrics(request: Request) -> Response:
        data = await run_in_threadpool(generate_latest, registry)
        return Response(data, media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route(OPEN.pattern, pixel, methods=["GET"]),
        Route(CLICK.pattern, click, methods=["GET"]),
        Route(UNSUBSCRIBE.pattern, unsubscribe, methods=["GET", "POST"]),
        Route(SURVEY.pattern, survey, methods=["GET"]),
        Route(f"/{SURVEY.prefix}/{{token}}", survey_page, methods=["GET"]),
        Route("/webhooks/purchase", purchase, methods=["POST"]),
        Route("/webhooks/shopify", shop_webhook(shops.shopify), methods=["POST"]),
        Route("/webhooks/woocommerce", shop_webhook(shops.woocommerce), methods=["POST"]),
        *(
            Route(f"/webhooks/{name}", shop_webhook(handle), methods=["POST"])
            for name, handle in EspWebhooks(engagement.app, esp_fetch).routes().items()
        ),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes)
