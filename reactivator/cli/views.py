"""How results look to people (rich tables) and to machines (JSON)."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from reactivator.core.records import PlannedCustomer
    from reactivator.service.customers import CustomerView
    from reactivator.service.delivery import SendReport
    from reactivator.service.feedback_intake import IntakeReport
    from reactivator.service.imports import ImportSummary
    from reactivator.service.passes import PassReport
    from reactivator.service.reporting.campaign import CampaignReport
    from reactivator.service.reporting.segments import SegmentReport
    from reactivator.service.status import Status

# Piped output has no terminal width to follow; a wide default keeps money columns whole.
# COLUMNS, when set, is honoured either way (rich reads it).
out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 140)
err = Console(stderr=True)


def money(cents: int, currency: str) -> str:
    return f"{_amount(cents)} {currency}"


def _amount(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def print_json(value: Any) -> None:
    """JSON on stdout, nothing else, for machines."""
    print(json.dumps(_plain(value), ensure_ascii=False, indent=2))


def _format_note(name: str) -> str:
    """Say which format was read when it is not reactivator's own (it was recognised or asked for)."""
    from reactivator.service.imports.formats import NATIVE

    return "" if name == NATIVE else f" ({escape(name)} export)"


def import_summary(s: ImportSummary) -> None:
    out.print(
        f"[bold]{s.kind.value}[/]{_format_note(s.format)} from {escape(str(s.path))}: "
        f"{s.rows:,} rows, [green]{s.inserted:,} new[/], "
        f"{s.updated:,} updated, {s.unchanged:,} unchanged, "
        + (f"[red]{s.rejected:,} rejected[/]" if s.rejected else "0 rejected")
    )
    for r in s.first_rejects:
        out.print(f"  line {r.line}: {r.reason}", highlight=False, markup=False)
    if s.rejected > len(s.first_rejects):
        out.print(f"  ... and {s.rejected - len(s.first_rejects):,} more")
    if s.rejects_path:
        out.print(f"Rejected rows with their reasons are in [bold]{escape(str(s.rejects_path))}[/]")
    for back in s.returned:
        out.print(
            f"[bold green]returned[/]: customer {escape(back.customer_external_id)} "
            f"(order {escape(back.order_external_id)})"
        )


def segments(report: SegmentReport) -> None:
    detail = report.classes is not None
    table = Table(title=f"Dormant customers on {report.now:%Y-%m-%d}")
    columns = ["tier", "customers"] + (["reachable", "A", "B", "C"] if detail else [])
    for col in [*columns, f"money at stake ({report.currency})"]:
        table.add_column(col, justify="left" if col == "tier" else "right")
    for t in report.tiers:
        extra = [f"{v or 0:,}" for v in (t.reachable, t.class_a, t.class_b, t.class_c)] if detail else []
        table.add_row(t.label, f"{t.customers:,}", *extra, f"{t.money_at_stake_cents / 100:,.2f}")
    total = sum(t.customers for t in report.tiers)
    blanks = [""] * 4 if detail else []
    table.add_row(
        "[bold]all dormant[/]",
        f"[bold]{total:,}[/]",
        *blanks,
        f"[bold]{report.total_at_stake_cents / 100:,.2f}[/]",
    )
    out.print(table)
    out.print(
        f"Money at stake = lifetime value (yearly revenue x {report.expected_years:g} expected years). "
        f"Returned and active again: [bold green]{report.returned_active:,}[/]."
    )


# Below this width the tables put each row's explanation under its step instead of in a
# column of its own, which would be squeezed into a word a line.
_NARROW = 110


def _step_and_why(step: str, group: str, why: str) -> Text:
    """One cell: the step (and holdout group) on its line, the explanation under it."""
    cell = Text(" · ".join(p for p in (step, group) if p), style="bold")
    if cell:
        cell.append("\n")
    cell.append(why, style="dim" if cell else "")
    return cell


def pass_report(report: PassReport, sent: SendReport | None) -> None:
    from reactivator.core.model import DUE_VERDICTS, VERDICT_EXPLANATIONS, Verdict

    title = "Dry run (nothing changed)" if report.dry_run else "Pass"
    table = Table(title=f"{title} at {report.now:%Y-%m-%d %H:%M} UTC")
    holdout = any(d.arm is not None for d in report.decisions)
    narrow = out.width < _NARROW
    if narrow:
        table.add_column("customers", justify="right", no_wrap=True)
        table.add_column("decision", no_wrap=True)
        table.add_column("step and why")
    else:
        table.add_column("decision", no_wrap=True)
        table.add_column("step", no_wrap=True)
        if holdout:
            table.add_column("group", no_wrap=True)
        table.add_column("customers", justify="right")
        table.add_column("why")
    for d in report.decisions:
        due = d.verdict in DUE_VERDICTS
        held = d.arm is not None and d.arm.value == "control"
        style = "green" if due and not held else ""
        action = "hold" if held else "send" if d.verdict is Verdict.SEND else "queue"
        decision = (f"enroll + {action}" if d.enters else action) if due else "skip"
        why = VERDICT_EXPLANATIONS[d.verdict]
        if due and held:
            why = "control group: the letter is recorded on its day, never sent"
        shown = f"[{style}]{decision}[/]" if style else decision
        group = d.arm.value if d.arm else ""
        if narrow:
            table.add_row(f"{d.customers:,}", shown, _step_and_why(d.step_key or "", group, why))
            continue
        row = [shown, d.step_key or ""]
        if holdout:
            row.append(group)
        table.add_row(*row, f"{d.customers:,}", why)
    out.print(table)
    if holdout:
        by_arm = report.due_by_arm()
        out.print(
            f"Letters due: {by_arm['treatment'] + by_arm['none']:,} to send, "
            f"{by_arm['control']:,} held back for the control group."
        )
    if report.writes is not None:
        w = report.writes
        held_note = f" ({w.held:,} of them held back for the control group)" if w.held else ""
        out.print(f"Enrolled {w.enrolled:,} customers, queued {w.queued:,} letters{held_note}.")
    if sent is not None:
        out.print(
            f"Sent {sent.sent:,}, deferred {sent.deferred:,} (quiet hours or temporary errors), "
            f"cancelled {sent.cancelled:,}, failed {sent.failed:,}, bounced {sent.bounced:,}, "
            f"expired {sent.expired:,}."
            + (f" [red]{sent.lease_lost:,} finished after their lease ran out[/]." if sent.lease_lost else "")
        )


def trace_table(rows: list[tuple[PlannedCustomer, str | None]], total_shown_limit: int | None) -> None:
    from reactivator.core.model import VERDICT_EXPLANATIONS

    table = Table(title="Decision trace" + (f" (first {total_shown_limit})" if total_shown_limit else ""))
    holdout = any(r.arm is not None for r, _ in rows)
    narrow = out.width < _NARROW
    if narrow:
        columns = ["customer", "last purchase", "class", "decision, step and why"]
    else:
        columns = [
            "customer",
            "last purchase",
            "class",
            "decision",
            "step",
            *(["group"] if holdout else []),
            "why",
        ]
    for col in columns:
        table.add_column(col, no_wrap=col in ("customer", "class"))
    for r, step in rows:
        group = r.arm.value if r.arm else ""
        why = VERDICT_EXPLANATIONS[r.verdict]
        first: list[Text | str] = [
            Text(r.external_id),
            f"{r.last_purchase_at:%Y-%m-%d}",
            r.value_class.value if r.value_class else "",
        ]
        if narrow:
            details = _step_and_why(step or "", group, why)
            table.add_row(*first, Text("\n").join([Text(r.verdict.value), details]))
            continue
        table.add_row(*first, r.verdict.value, step or "", *([group] if holdout else []), why)
    out.print(table)


def campaign(report: CampaignReport, *, detail: bool = False) -> None:
    from reactivator.cli import report_view

    report_view.campaign(report, detail=detail)


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = int((now - then).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


_INTAKE_WORDS = {
    "hard_bounce": "hard bounces (address suppressed)",
    "soft_bounce": "soft bounces (counted, not suppressed)",
    "policy": "policy refusals (the receiver refused us: domain paused, see the log)",
    "complaint": "complaints (unsubscribed)",
    "unsubscribe": "unsubscribes by mail",
    "reply": "replies (the ladder stops; read them with `customer`)",
    "auto_reply": "auto-replies (ignored)",
    "delivered": "deliveries",
    "deferred": "deferrals",
}


def intake_summary(r: IntakeReport) -> None:
    """What reading a mailbox did, one line per kind of news."""
    out.print(f"Read {r.messages:,} messages.")
    for kind, words in _INTAKE_WORDS.items():
        if r.events.get(kind):
            out.print(f"  {r.events[kind]:>7,}  {words}")
    if not r.events:
        out.print("  nothing new")
    if r.repeated:
        out.print(f"  {r.repeated:>7,}  already read before: nothing changed")
    if r.unknown:
        out.print(f"  {r.unknown:>7,}  about no customer of this shop")
    for step in r.stopped_steps:
        out.print(
            f"[red]ALERT[/]: step {escape(step)} stopped by the complaint brake (`reactivator resume {step}`)"
        )


def status(s: Status) -> None:
    """What the daemons see now."""
    alive = [d for d in s.daemons if d.alive]
    out.print(
        f"[bold]Daemons[/]: {len(alive)} running"
        + (f", {len(s.daemons) - len(alive)} silent" if len(s.daemons) > len(alive) else "")
    )
    if s.daemons:
        table = Table(box=None, pad_edge=False)
        for column in ("daemon", "state", "started", "heartbeat", "last pass", "next pass"):
            table.add_column(column)
        for d in s.daemons:
            r = d.row
            done = r.last_pass or {}
            last = (
                f"{_ago(s.now, r.last_pass_at)} (queued {done.get('queued', 0)})"
                if r.last_pass_at
                else "none yet"
            )
            table.add_row(
                escape(r.name),
                "[green]running[/]" if d.alive else "[red]silent[/]",
                _ago(s.now, r.started_at),
                _ago(s.now, r.heartbeat_at),
                last,
                _ago(s.now, r.next_pass_at) if d.alive and r.next_pass_at else "-",
            )
        out.print(table)
    out.print(f"Next pass: {_ago(s.now, s.next_pass_at) if s.next_pass_at else 'no daemon is running'}")
    out.print("\n[bold]Queue[/]: " + ", ".join(f"{state} {n:,}" for state, n in s.queue.items()))
    if s.deferred_by_domain:
        table = Table(title="Deferred by domain", title_justify="left", box=None, pad_edge=False)
        for column in ("domain", "letters", "next try", "last error"):
            table.add_column(column)
        for w in s.deferred_by_domain:
            table.add_row(
                escape(w.domain), f"{w.letters:,}", _ago(s.now, w.next_try), escape(w.last_error or "")
            )
        out.print(table)
    for domain, until in s.paused_domains.items():
        out.print(f"[yellow]Paused[/]: {escape(domain)} until {until:%Y-%m-%d %H:%M} UTC")
    for alert in s.alerts:
        out.print(f"[red]ALERT[/]: {escape(alert)}")
    if s.replies_this_week:
        out.print(
            f"Replies from customers in the last 7 days: {s.replies_this_week:,} "
            "(read them with `customer` or in the console)"
        )
    errors = [(d.row.last_error_at, d.row.name, d.row.last_error) for d in s.daemons if d.row.last_error]
    if errors or s.recent_errors:
        out.print("\n[bold]Last errors[/]")
    for at, name, error in errors:
        out.print(f"  {_ago(s.now, at)}  daemon {escape(name)}: {escape(error or '')}", highlight=False)
    for e in s.recent_errors:
        letter = f"{escape(e.step_key)} to {escape(e.customer)} ({e.status})"
        out.print(f"  {_ago(s.now, e.at)}  {letter}: {escape(e.error)}", highlight=False)


_ENDED = {
    "returned": "came back",
    "return_cancelled": "came back, then cancelled",
    "exhausted": "went through the ladder",
    "unsubscribed": "unsubscribed",
    "cancelled": "stopped",
    "active": "on the ladder now",
}


def _day(value: object) -> str:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d}"
    text = str(value or "")
    return text[:10]


def customer_view(view: CustomerView) -> None:
    """One customer, readable: who, where they stand, every letter and what they did with it."""
    c = view.customer
    style = "bold green" if view.status == "returned" else "bold"
    out.print(f"[bold]{escape(c.external_id)}[/] {escape(c.email or '(erased)')}: [{style}]{view.status}[/]")
    last = f", last purchase {c.last_purchase_at:%Y-%m-%d}" if c.last_purchase_at else ", no purchases"
    out.print(f"{c.orders_count} orders, revenue {c.revenue_cents / 100:,.2f}{last}", highlight=False)
    if c.paused_until is not None:
        out.print(f"Asked for a pause: no letters until {c.paused_until:%Y-%m-%d}", highlight=False)
    for e in view.enrollments:
        group = {"control": " (control group: letters held back)", "treatment": ""}.get(str(e["arm"]), "")
        ended = _ENDED.get(str(e["status"]), str(e["status"]))
        if e["kind"] == "apology" and e["status"] == "exhausted":
            ended = "had the apology"
        returned = ""
        if e.get("return_amount_cents"):
            returned = f", ordered {int(str(e['return_amount_cents'])) / 100:,.2f} after {e['return_step']}"
        reason = (
            f" ({e['end_reason']})"
            if e.get("end_reason") and e["status"] not in ("active", "returned")
            else ""
        )
        out.print(
            f"{str(e['kind']).capitalize()}{group} from {_day(e['enrolled_at'])}: {ended}{reason}{returned}",
            markup=False,
            highlight=False,
        )
    if view.letters:
        table = Table(box=None, pad_edge=False, title="Letters", title_justify="left")
        for column in ("step", "state", "when", "code", "opened", "clicked"):
            table.add_column(column, no_wrap=column in ("when", "code"))
        for letter in view.letters:
            state = letter.status if not letter.ended_reason else f"{letter.status}: {letter.ended_reason}"
            table.add_row(
                escape(letter.step_key),
                escape(state),
                _day(letter.at),
                escape(letter.coupon_code or "-"),
                str(letter.opened),
                str(letter.clicked),
            )
        out.print(table)
    for at, reason in view.survey_answers:
        out.print(f"Said why they stopped buying ({_day(at)}): {escape(reason)}", highlight=False)
    for r in view.replies:
        out.print(f"\n[bold]Reply[/] {r.received_at:%Y-%m-%d %H:%M} UTC: {escape(r.subject)}")
        out.print(r.text[:2000] or "(no text)", markup=False, highlight=False)
