"""The HTML pages reactivator serves itself (console, unsubscribe), rendered with autoescaping."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

pages = Environment(
    loader=PackageLoader("reactivator.web", "pages"), autoescape=select_autoescape(default=True)
)


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _points(interval: dict[str, Any] | None) -> str:
    return "–" if not interval else f"{interval['value'] * 100:+.1f}"


def _interval(interval: dict[str, Any] | None) -> str:
    if not interval:
        return "–"
    low, high = interval["ci95"]
    return f"{low * 100:+.1f} to {high * 100:+.1f}"


def _money_interval(interval: dict[str, Any] | None) -> str:
    if not interval:
        return "–"
    low, high = interval["ci95"]
    return f"{low:+,.0f} to {high:+,.0f}"


pages.filters.update(
    money=_money, pct=_pct, points=_points, interval=_interval, money_interval=_money_interval
)
