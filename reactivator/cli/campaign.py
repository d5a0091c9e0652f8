"""The campaign as a whole: the segments, a pass (or its dry run), what it earned."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from reactivator.cli import views
from reactivator.cli.common import JsonOption, NowOption, app_from_state, guard, parse_now

if TYPE_CHECKING:
    from reactivator.render.composer import Composer
    from reactivator.service.app import App
    from reactivator.service.delivery import SendReport


def segments(
    now: NowOption = None,
    as_json: JsonOption = False,
    detail: Annotated[
        bool, typer.Option("--detail", help="Also how many can be mailed and the A/B/C value classes.")
    ] = False,
) -> None:
    """Dormant customers per tier and the money at stake (their lifetime value)."""

    def body() -> None:
        from reactivator.service.reporting.segments import segments as segment_report

        report = segment_report(app_from_state(), parse_now(now), detail=detail)
        if as_json:
            views.print_json(report)
        else:
            views.segments(report)

    guard(body)


def run(
    now: NowOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and explain, change nothing.")] = False,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option("--limit", help="Trace lines to show in the table (0: none).")] = 30,
) -> None:
    """One pass: enroll who is due, queue their letters, send them. --dry-run explains instead."""

    def body() -> None:
        app = app_from_state()
        at = parse_now(now)
        if dry_run:
            _dry_run(app, at, as_json, limit)
            return
        import asyncio

        from reactivator.config.links import links_problem
        from reactivator.errors import ConfigError
        from reactivator.service import passes
        from reactivator.service.letters import checked_composer

        problem = links_problem(app.settings)
        if problem:  # before the pass: nothing is queued for letters that could not go
            raise ConfigError([problem])
        composer = checked_composer(app, at)  # a broken template stops the run before the pass
        report = passes.enroll_and_queue(app, at)
        sent = asyncio.run(_send_until_stopped(app, at, composer))
        if as_json:
            views.print_json({"pass": report, "sent": sent})
        else:
            views.pass_report(report, sent)

    guard(body)


async def _send_until_stopped(app: App, at: datetime, composer: Composer) -> SendReport:
    """Send over SMTP; SIGTERM or Ctrl+C stops claiming, lets letters in flight finish, exits cleanly."""
    import asyncio
    import signal

    from reactivator.service.delivery import send_with_configured_mailer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await send_with_configured_mailer(app, at, composer, stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _dry_run(app: App, at: datetime, as_json: bool, limit: int) -> None:
    from reactivator.service import passes

    if as_json:
        # One JSON object a line, made by the database: the whole trace streams, however many customers.
        with passes.trace_lines(app, at) as chunks:
            for chunk in chunks:
                sys.stdout.write("\n".join(chunk) + "\n")
        return
    report = passes.plan_pass(app, at)
    views.pass_report(report, None)
    if limit > 0:
        with passes.trace(app, at, limit) as rows:
            shown = [(r, passes.step_key(app, r.kind, r.step_index, r.verdict)) for r in rows]
        views.trace_table(shown, limit)


def report(
    as_json: JsonOption = False,
    detail: Annotated[
        bool, typer.Option("--detail", help="Also the lift per value class (A/B/C at enrolment).")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Read from this moment (ISO 8601): enrollments, letters, returns."),
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Read up to this moment (ISO 8601).")] = None,
    now: NowOption = None,
) -> None:
    """What the campaign earned and caused: per step with ROMI, and the lift over the holdout group."""

    def body() -> None:
        from reactivator.service.reporting import campaign as reporting
        from reactivator.service.reporting.as_json import report_json

        at = parse_now(now)
        start = parse_now(since) if since else None
        end = parse_now(until) if until else None
        result = reporting.campaign_report(app_from_state(), at, since=start, until=end)
        if as_json:
            views.print_json(report_json(result, detail=detail))
        else:
            views.campaign(result, detail=detail)

    guard(body)


def reopen(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count them, change nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """After steps were added to the ladder's end: who finished it walks on to the new steps.

    Each gets the new steps on their days. --dry-run only counts them."""

    def body() -> None:
        from reactivator.service.ladder_reopen import reopen_finished

        count = reopen_finished(app_from_state(), dry_run=dry_run)
        if as_json:
            views.print_json({"reopened": 0 if dry_run else count, "would_reopen": count if dry_run else 0})
        elif dry_run:
            views.out.print(
                f"{count:,} customers finished a shorter ladder and would walk on to the new steps."
            )
        else:
            views.out.print(
                f"{count:,} customers walk on to the new steps; the next passes send them on their days."
            )

    guard(body)
