"""The campaign report in a terminal: readable at 80 columns, more columns when there is room.

Money is never cut short: the number columns do not wrap and the step names
fold instead. The lift per tier is drawn as a compact interval chart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.markup import escape
from rich.table import Table

from reactivator.cli.views import money, out

if TYPE_CHECKING:
    from reactivator.service.reporting.campaign import CampaignReport, StepReport
    from reactivator.service.reporting.holdout import GroupLift, HoldoutReport
    from reactivator.service.reporting.lift import Interval

CHART_WIDTH = 36


def _amount(cents: float) -> str:
    return f"{cents / 100:,.0f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _points(interval: Interval | None) -> str:
    if interval is None:
        return "-"
    return f"{interval.value * 100:+.1f} [{interval.low * 100:+.1f}, {interval.high * 100:+.1f}]"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _wide() -> bool:
    return out.width >= 120


def campaign(report: CampaignReport, *, detail: bool = False) -> None:
    """The whole report: what the letters caused, then per step, then what the returned did next."""
    period = ""
    if report.since or report.until:
        start = f"{report.since:%Y-%m-%d}" if report.since else "the start"
        end = f"{report.until:%Y-%m-%d}" if report.until else "now"
        period = f", {start} to {end}"
    out.print(f"[bold]Campaign {escape(report.campaign)!r}[/] (money in {report.currency}{period})")
    if report.holdout is not None:
        holdout(report.holdout, report.currency, detail)
    steps(report)
    _after(report)
    _survey(report)
    for note in report.notes:
        out.print(f"[dim]{note}[/]")


def _lift_table(title: str, groups: list[GroupLift]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    table.add_column("group", overflow="fold")
    table.add_column("treated", justify="right", no_wrap=True)
    table.add_column("control", justify="right", no_wrap=True)
    table.add_column("lift, points [95%]", justify="right", no_wrap=True)
    table.add_column("extra revenue", justify="right", no_wrap=True)
    if _wide():
        table.add_column("revenue [95%]", justify="right", no_wrap=True)
        table.add_column("incr. ROMI", justify="right", no_wrap=True)
        table.add_column("enrolled", justify="right", no_wrap=True)
    for g in groups:
        c = g.comparison
        extra = c.incremental_revenue_cents
        row = [
            escape(g.label),
            _pct(g.treatment.return_rate),
            _pct(g.control.return_rate),
            _points(c.return_rate_lift) + (" [green]*[/]" if c.significant else "  "),
            "-" if extra is None else f"{extra.value / 100:+,.0f}",
        ]
        if _wide():
            row += [
                "-" if extra is None else f"[{extra.low / 100:+,.0f}, {extra.high / 100:+,.0f}]",
                _ratio(g.incremental_romi),
                f"{g.treatment.enrolled:,} + {g.control.enrolled:,}",
            ]
        table.add_row(*row)
    return table


def holdout(h: HoldoutReport, currency: str, detail: bool) -> None:
    """What the letters caused: the treatment against the control group, per tier and overall."""
    groups = [*h.tiers, *([h.apology] if h.apology else []), *([h.overall] if h.overall else [])]
    if not groups:
        share = f"{h.percent:g}%" if h.percent else "off"
        out.print(f"Holdout ({share}): no enrollment in a holdout arm yet in this period.")
        return
    title = f"What the letters caused (holdout {h.percent:g}%: return rate, treated vs control)"
    out.print(_lift_table(title, groups))
    if detail and h.classes:
        out.print(_lift_table("By value class at enrolment", h.classes))
    out.print(
        f"[green]*[/] the interval excludes 0. Extra revenue in {currency}, over the treated customers."
    )
    _chart([g for g in groups if g.comparison.return_rate_lift is not None])
    overall = h.overall
    if overall is not None:
        _verdict(overall, currency)
    if h.outside:
        out.print(f"[dim]{h.outside:,} enrollments of the period were made while no holdout ran.[/]")


def _verdict(g: GroupLift, currency: str) -> None:
    c = g.comparison
    if c.return_rate_lift is None:
        out.print("Too few customers in one of the arms to compare yet.")
        return
    if c.significant:
        extra = c.incremental_revenue_cents
        revenue = "" if extra is None else f", {money(round(extra.value), currency)} of extra revenue"
        romi = "" if g.incremental_romi is None else f", incremental ROMI {g.incremental_romi:.2f}"
        out.print(
            f"Overall the letters brought back [bold green]{_points(c.return_rate_lift)}[/] points"
            f"{revenue}{romi}."
        )
        return
    need = (
        f" A lift of this size needs about {c.more_needed:,} more enrolled customers to show"
        " (80% power, 5% level)."
        if c.more_needed
        else " No positive lift is seen so far."
    )
    out.print(f"Overall: [yellow]not significant yet[/] ({_points(c.return_rate_lift)} points).{need}")


def _chart(groups: list[GroupLift]) -> None:
    """Each group's lift as a dot on its interval, with the zero line: ─────●───── │."""
    intervals = [g.comparison.return_rate_lift for g in groups]
    shown = [i for i in intervals if i is not None]
    if not shown:
        return
    low = min(0.0, *(i.low for i in shown))
    high = max(0.0, *(i.high for i in shown))
    span = (high - low) or 1.0

    def at(x: float) -> int:
        return min(CHART_WIDTH - 1, max(0, round((x - low) / span * (CHART_WIDTH - 1))))

    label_width = min(18, max(len(g.label) for g in groups))
    out.print(f"Lift per group, points: {low * 100:+.1f} ... {high * 100:+.1f}")
    for g, i in zip(groups, intervals, strict=True):
        assert i is not None
        cells = [" "] * CHART_WIDTH
        cells[at(0.0)] = "│"
        for x in range(at(i.low), at(i.high) + 1):
            cells[x] = "─" if cells[x] != "│" else "┼"
        cells[at(i.value)] = "●"
        colour = "green" if g.comparison.significant else "yellow"
        bar = "".join(cells)
        out.print(f"  {escape(g.label[:label_width]):<{label_width}} [{colour}]{bar}[/] {i.value * 100:+.1f}")


def steps(report: CampaignReport) -> None:
    """Per step: what went out, what people did, who came back, and what it cost and earned."""
    wide = _wide()
    table = Table(
        title="Per step (treated letters)", box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False
    )
    table.add_column("step", overflow="fold")
    columns = ["sent", "opened", "clicked", "back", "revenue", "ROMI"]
    if wide:
        columns = ["sent", "delivered", "opened", "clicked", "unsub", "bounced", "spam", "back+code",
                   "back, no code", "revenue", "discounts", "cost", "ROMI"]  # fmt: skip
    for col in columns:
        table.add_column(col, justify="right", no_wrap=True)
    for s in report.steps:
        table.add_row(escape(s.step_key), *_step_cells(s, wide))
    out.print(table)
    romi = "n/a" if report.romi is None else f"{report.romi:.2f}"
    c = report.currency
    out.print(
        f"Returned customers: [bold green]{report.returned:,}[/]"
        + (
            f" (+{report.returned_without_letter} before any letter)"
            if report.returned_without_letter
            else ""
        )
        + f"; revenue from them {money(report.revenue_since_return_cents, c)}; cost "
        f"{money(report.cost_cents, c)} (discounts {money(report.discount_cents, c)}, letters "
        f"{money(report.letter_cost_cents, c)}); [bold]ROMI {romi}[/] (all returns, caused or not)"
    )


def _complaints(s: StepReport) -> str:
    """Complaints, red once they pass Gmail's 0.1% of delivered letters."""
    if not s.complained:
        return "0"
    rate = s.complained / s.delivered if s.delivered else 1.0
    return f"[red]{s.complained:,}[/]" if rate > 0.001 else f"{s.complained:,}"


def _step_cells(s: StepReport, wide: bool) -> list[str]:
    if not wide:
        return [
            f"{s.sent:,}",
            f"{s.opened:,}",
            f"{s.clicked:,}",
            f"{s.returned:,}",
            _amount(s.revenue_since_return_cents),
            _ratio(s.romi),
        ]
    return [
        f"{s.sent:,}",
        f"{s.delivered:,}",
        f"{s.opened:,}",
        f"{s.clicked:,}",
        f"{s.unsubscribed:,}",
        f"{s.bounced:,}",
        _complaints(s),
        f"{s.returned_with_code:,}",
        f"{s.returned_without_code:,}",
        _amount(s.revenue_since_return_cents),
        _amount(s.discount_cents),
        _amount(s.cost_cents),
        _ratio(s.romi),
    ]


def _after(report: CampaignReport) -> None:
    a = report.after_return
    if a is None or not a.returned:
        return
    c = report.currency
    average = money(a.first_order_average_cents or 0, c)
    rate = f"{a.back_to_previous_rate:,} of {a.rate_judged:,}" if a.rate_judged else "none judged yet"
    year = f"{a.stayed_a_year:,} of {a.year_judged:,}" if a.year_judged else "none judged yet"
    out.print(
        f"After the return ({a.returned:,} customers): first order back {average} on average; "
        f"back to their old buying rate: {rate}; a year without lapsing: {year}."
    )


def _survey(report: CampaignReport) -> None:
    if not report.survey:
        return
    totals: dict[str, int] = {}
    for answer in report.survey:
        totals[answer.reason] = totals.get(answer.reason, 0) + answer.answers
    ranked = ", ".join(f"{escape(r)} {n:,}" for r, n in sorted(totals.items(), key=lambda kv: -kv[1]))
    out.print(f"Why they stopped buying (survey answers): {ranked}.")
