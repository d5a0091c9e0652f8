"""The campaign report as JSON: the shape other tools rely on (documented in README, "The report").

Keys that existed before the holdout keep their names and units (money in
cents, `*_cents`). The holdout block gives money in the shop's currency, as
its keys (`revenue`, `incremental_revenue`) have no unit suffix.
"""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass
from datetime import datetime
from typing import Any

from reactivator.service.reporting.campaign import CampaignReport
from reactivator.service.reporting.holdout import GroupLift, HoldoutReport
from reactivator.service.reporting.lift import ArmOutcome, Interval


def _money(cents: float | None) -> float | None:
    return None if cents is None else round(cents / 100, 2)


def _interval(interval: Interval | None, scale: float = 1.0, digits: int = 4) -> dict[str, Any] | None:
    if interval is None:
        return None
    return {
        "value": round(interval.value * scale, digits),
        "ci95": [round(interval.low * scale, digits), round(interval.high * scale, digits)],
    }


def _arm(arm: ArmOutcome) -> dict[str, Any]:
    rate = arm.return_rate
    per = arm.revenue_per_enrolled_cents
    return {
        "enrolled": arm.enrolled,
        "returned": arm.returned,
        "return_rate": None if rate is None else round(rate, 4),
        "revenue": _money(arm.revenue_cents),
        "revenue_per_enrolled": _money(per),
    }


def group_json(g: GroupLift) -> dict[str, Any]:
    c = g.comparison
    return {
        "label": g.label,
        "tier": g.tier,
        "value_class": g.value_class,
        "treatment": _arm(g.treatment),
        "control": _arm(g.control),
        "return_rate_lift": _interval(c.return_rate_lift),
        "relative_lift": _interval(c.relative_lift),
        "incremental_revenue": _interval(c.incremental_revenue_cents, 0.01, 2),
        "significant": c.significant,
        "more_enrolled_needed": c.more_needed,
        "discounts": _money(g.discount_cents),
        "letter_cost": _money(g.letter_cost_cents),
        "incremental_romi": None if g.incremental_romi is None else round(g.incremental_romi, 3),
    }


def holdout_json(h: HoldoutReport, detail: bool) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "percent": h.percent,
        "tiers": [group_json(g) for g in h.tiers],
        "apology": group_json(h.apology) if h.apology else None,
        "overall": group_json(h.overall) if h.overall else None,
        "outside_holdout": h.outside,
        "returns_over_time": asdict(h.curve) if h.curve else None,
    }
    if detail:
        shape["classes"] = [group_json(g) for g in h.classes]
    return shape


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def report_json(report: CampaignReport, *, detail: bool = False) -> dict[str, Any]:
    """The report as JSON-ready data for `report --json` and the console's pages."""
    shape = {f.name: _plain(getattr(report, f.name)) for f in fields(report) if f.name != "holdout"}
    shape["holdout"] = holdout_json(report.holdout, detail) if report.holdout else None
    return shape
