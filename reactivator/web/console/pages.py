"""The console's pages about the campaign: overview, report, survey answers, customers.

Every figure comes from the same service results as `reactivator report --json`
(service/reporting/as_json.py), so a page and the command agree for a period.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from reactivator.errors import UnknownCustomerError
from reactivator.service import customers as customer_ops
from reactivator.service.reporting.as_json import report_json
from reactivator.service.reporting.campaign import campaign_report
from reactivator.service.reporting.segments import segments
from reactivator.service.status import status as read_status
from reactivator.web.console import charts
from reactivator.web.console.state import ConsoleState
from reactivator.web.rendering import pages


def _page(name: str, state: ConsoleState, status: int = 200, **context: Any) -> HTMLResponse:
    shop = state.app.settings.shop
    html = pages.get_template(name).render(shop=shop.name_in(), currency=shop.currency, **context)
    return HTMLResponse(html, status_code=status)


def _day(raw: str | None, *, end: bool = False) -> datetime | None:
    """A date from the period form (YYYY-MM-DD, whole days in UTC); None if empty or not a date."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return datetime.combine(day, time.max if end else time(0), tzinfo=UTC)


def report_figures(state: ConsoleState, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    """The report as `report --json --detail` gives it for this period."""
    report = campaign_report(state.app, state.clock(), since=since, until=until)
    return report_json(report, detail=True)


def _lift_groups(report: dict[str, Any]) -> list[dict[str, Any]]:
    h = report["holdout"]
    if not h:
        return []
    return [*h["tiers"], *([h["apology"]] if h["apology"] else []), *([h["overall"]] if h["overall"] else [])]


def _curve(report: dict[str, Any]) -> dict[str, Any]:
    """The returns-over-time chart, when a holdout gives one."""
    curve = report["holdout"]["returns_over_time"] if report["holdout"] else None
    return {"returns": charts.returns_over_time(curve)} if curve else {}


def console_pages(state: ConsoleState) -> list[BaseRoute]:
    """`/` overview, `/report`, `/survey`, `/customers` (search) and `/customers/{id}`."""

    async def overview(request: Request) -> Response:
        now = state.clock()
        seg = await asyncio.to_thread(segments, state.app, now)
        report = await asyncio.to_thread(report_figures, state, None, None)
        tiers = [
            {"label": t.label, "customers": t.customers, "money_at_stake_cents": t.money_at_stake_cents}
            for t in seg.tiers
        ]
        figures = {"at_stake": charts.money_at_stake(tiers, seg.currency), **_curve(report)}
        seen = await asyncio.to_thread(read_status, state.app, now)
        replies = await asyncio.to_thread(customer_ops.latest_replies, state.app)
        return _page(
            "overview.html",
            state,
            alerts=seen.alerts,
            replies=replies,
            now=f"{now:%Y-%m-%d}",
            report=report,
            tiers=seg.tiers,
            dormant=sum(t.customers for t in seg.tiers),
            at_stake=seg.total_at_stake_cents / 100,
            charts=figures,
        )

    async def report_page(request: Request) -> Response:
        since_raw, until_raw = request.query_params.get("since", ""), request.query_params.get("until", "")
        since, until = _day(since_raw), _day(until_raw, end=True)
        report = await asyncio.to_thread(report_figures, state, since, until)
        figures = {"funnel": charts.funnel(report["steps"]), "romi": charts.romi_per_step(report["steps"])}
        groups = _lift_groups(report)
        if groups:
            figures["lift"] = charts.lift_per_group(groups)
        figures |= _curve(report)
        return _page(
            "report.html",
            state,
            report=report,
            charts=figures,
            since=since_raw if since else "",
            until=until_raw if until else "",
        )

    async def survey(request: Request) -> Response:
        report = await asyncio.to_thread(report_figures, state, None, None)
        answers = report["survey"]
        figures = {"survey": charts.survey_reasons(answers)} if answers else {}
        return _page("survey.html", state, answers=answers, charts=figures)

    async def find(request: Request) -> Response:
        q = request.query_params.get("q", "").strip()[:200]
        found = await asyncio.to_thread(customer_ops.search, state.app, q) if q else []
        if len(found) == 1 and found[0].external_id == q:
            return RedirectResponse(f"/customers/{quote(q, safe='')}", status_code=303)
        return _page("customers.html", state, q=q, found=found, notice="")

    async def customer(request: Request) -> Response:
        ref = request.path_params["ref"]
        try:
            page = await asyncio.to_thread(customer_ops.page, state.app, ref, state.clock())
        except UnknownCustomerError:
            return _page("customers.html", state, status=404, q=ref, found=[], notice=f"No customer {ref!r}.")
        return _page("customer.html", state, page=page, c=page.view.customer)

    return [
        Route("/", overview),
        Route("/report", report_page),
        Route("/survey", survey),
        Route("/customers", find),
        Route("/customers/{ref:path}", customer),
    ]
