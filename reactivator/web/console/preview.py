"""The preview page: every letter of the ladder, live.

Letters are built by the same composer that sends them (only nothing is
sent, except a "send test" to an address the marketer types). A template
error shows as file:line on the page, never as a stack trace.
"""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any
from urllib.parse import quote, urlencode

from email_validator import EmailNotValidError, validate_email
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from reactivator.config.demo_images import drawing_named, local_images
from reactivator.core.locales import LOCALES
from reactivator.core.ports import Outgoing
from reactivator.errors import ReactivatorError
from reactivator.render.check import Problem, template_problem
from reactivator.render.composer import Composed, Composer
from reactivator.render.samples import SAMPLE_NAMES, sample_at
from reactivator.service.preview import preview_customer
from reactivator.web.console.state import ConsoleState
from reactivator.web.rendering import pages


class LetterNotRendered(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def _compose(state: ConsoleState, composer: Composer, locale: str, step: str, request: Request) -> Composed:
    now = state.clock()
    customer = request.query_params.get("customer", "").strip()
    try:
        if customer:
            return preview_customer(state.app, composer, customer, now, step).composed
        sample = request.query_params.get("sample", SAMPLE_NAMES[0])
        if locale not in composer.locales or sample not in SAMPLE_NAMES:
            raise LetterNotRendered([Problem("-", 0, f"no letter {locale}/{step} for sample {sample!r}")])
        return composer.compose(sample_at(sample, composer.step(step), now, locale), now, locale=locale)
    except ReactivatorError as exc:
        raise LetterNotRendered([Problem("-", 0, str(exc))]) from exc
    except Exception as exc:  # a template that fails at render time: show where, not how
        raise LetterNotRendered([template_problem(exc, composer.catalog.sources)]) from exc


def _page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(pages.get_template(name).render(**context), status_code=status)


def preview_routes(state: ConsoleState) -> list[BaseRoute]:
    """The letters: the ladder's letters (`/letters`), one with its source, its HTML alone, a test send."""

    async def index(request: Request) -> Response:
        composer, result = await asyncio.to_thread(state.letters)
        return _page(
            "index.html",
            steps=composer.steps(),
            locales=composer.locales,
            samples=SAMPLE_NAMES,
            result=result,
            shop=state.app.settings.shop.name_in(),
        )

    async def letter(request: Request) -> Response:
        locale, step = request.path_params["locale"], request.path_params["step"]
        composer, result = await asyncio.to_thread(state.letters)
        problems = [p for p in result.problems if p.file.startswith(f"{locale}/{step}.")]
        problems += [p for p in result.problems if not p.file.startswith(tuple(f"{loc}/" for loc in LOCALES))]
        common = {
            "locale": locale,
            "step": step,
            "steps": composer.steps(),
            "locales": composer.locales,
            "samples": SAMPLE_NAMES,
            "sample": request.query_params.get("sample", SAMPLE_NAMES[0]),
            "customer": request.query_params.get("customer", ""),
            "width": "mobile" if request.query_params.get("width") == "mobile" else "desktop",
            "notice": request.query_params.get("notice", ""),
            "query": request.url.query,
            "shop": state.app.settings.shop.name_in(),
        }
        try:
            composed = await asyncio.to_thread(_compose, state, composer, locale, step, request)
        except LetterNotRendered as exc:
            return _page("letter.html", status=422, problems=exc.problems + problems, composed=None, **common)
        headers = [(k, str(v)) for k, v in composed.message.items()]
        source = composed.message.as_bytes().decode("utf-8", "replace")
        return _page(
            "letter.html",
            problems=problems,
            composed=composed,
            headers=headers,
            source=source,
            preheader=_preheader(composed.html),
            sender=f"{state.app.settings.sender.from_name} <{state.app.settings.sender.from_email}>",
            **common,
        )

    async def raw(request: Request) -> Response:
        locale, step = request.path_params["locale"], request.path_params["step"]
        composer, _ = await asyncio.to_thread(state.letters)
        try:
            composed = await asyncio.to_thread(_compose, state, composer, locale, step, request)
        except LetterNotRendered as exc:
            body = "<br>".join(html.escape(str(p)) for p in exc.problems)
            return HTMLResponse(f"<p style='font-family:sans-serif;color:#b00020'>{body}</p>", 422)
        # The demo shop's pictures are drawn here (a real shop's addresses are left as they are).
        page, _ = local_images(composed.html, "/demo-images/")
        return HTMLResponse(page)

    async def demo_image(request: Request) -> Response:
        svg = drawing_named(str(request.path_params["name"]))
        if svg is None:
            return Response("not found", status_code=404)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "max-age=3600"})

    async def send_test(request: Request) -> Response:
        locale, step = request.path_params["locale"], request.path_params["step"]
        # A form posted from another site never gets here (console.access.SameOriginWrites).
        form = await request.form()
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "notice"]
        back = f"/letter/{locale}/{step}?{urlencode(kept)}"
        try:
            address = validate_email(str(form.get("address", "")), check_deliverability=False).normalized
        except EmailNotValidError as exc:
            return RedirectResponse(f"{back}&notice={_q('not sent: ' + str(exc))}", status_code=303)
        composer, _ = await asyncio.to_thread(state.letters)
        try:
            composed = await asyncio.to_thread(_compose, state, composer, locale, step, request)
            message = composer.compose_test(composed, address)
            try:
                await state.mailer.send(Outgoing(message, address))
            finally:
                await state.mailer.close()  # test sends are rare: no session kept open between them
        except (LetterNotRendered, ReactivatorError) as exc:
            return RedirectResponse(f"{back}&notice={_q('not sent: ' + str(exc))}", status_code=303)
        return RedirectResponse(f"{back}&notice={_q('test letter sent to ' + address)}", status_code=303)

    return [
        Route("/letters", index),
        Route("/letter/{locale}/{step}", letter),
        Route("/raw/{locale}/{step}", raw),
        Route("/demo-images/{name}", demo_image),
        Route("/letter/{locale}/{step}/send-test", send_test, methods=["POST"]),
    ]


def _q(text: str) -> str:
    return quote(text[:300])


def _preheader(letter_html: str) -> str:
    """The hidden preheader text: what an inbox shows after the subject."""
    match = re.search(r'<div class="preheader"[^>]*>(.*?)</div>', letter_html, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else ""
