"""`reactivator doctor`: the deliverability preflight."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from reactivator.cli import views
from reactivator.cli.common import JsonOption, app_from_state, guard

_MARKS = {
    "ok": "[green]ok[/]  ",
    "warn": "[yellow]warn[/]",
    "fail": "[red]FAIL[/]",
    "skipped": "[dim]skip[/]",
}


def doctor(
    dns: Annotated[
        str | None,
        typer.Option(
            "--dns", help="Ask this DNS server (host or host:port) instead of the system's resolvers."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check what mailbox providers check before a send: SPF, DKIM, DMARC, MX, TLS, links.

    Also DMARC alignment, reverse DNS and an unsubscribe round trip."""

    def body() -> int:
        from reactivator.service.doctor import preflight

        app = app_from_state()
        found = preflight(app, dns)
        if as_json:
            views.print_json({"failed": found.failed, "checks": found.checks})
        else:
            s = app.settings
            views.out.print(
                f"[bold]Deliverability preflight[/] for {escape(s.sender.from_email)} "
                f"via {escape(s.smtp.host)}:{s.smtp.port}"
            )
            table = Table(box=None, show_header=False, pad_edge=False)
            table.add_column(no_wrap=True)
            table.add_column()
            for check in found.checks:
                text = f"[bold]{check.name}[/]: {escape(check.found)}"
                if check.fix and check.outcome.value in ("warn", "fail"):
                    text += f"\n[dim]->[/] {escape(check.fix)}"
                table.add_row(_MARKS[check.outcome.value], text)
            views.out.print(table, highlight=False)
            views.out.print(
                "[red]Fix the failures before a real send.[/]" if found.failed else "[green]Ready to send.[/]"
            )
        return 1 if found.failed else 0

    code = guard(body)
    raise typer.Exit(code)
