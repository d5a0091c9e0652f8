"""What comes back from mailbox providers: bounce reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from reactivator.cli import views
from reactivator.cli.common import JsonOption, app_from_state, guard


def bounces(
    source: Annotated[Path, typer.Argument(help="A Maildir folder, an mbox file, or one message file.")],
    as_json: JsonOption = False,
) -> None:
    """Read bounce reports (RFC 3464 DSNs) and suppress every address that bounced hard (5.x.x)."""

    def body() -> None:
        from reactivator.service.bounces import process_bounces

        result = process_bounces(app_from_state(), source, datetime.now(UTC))
        if as_json:
            views.print_json(result)
        else:
            views.out.print(
                f"Read {result.messages:,} messages, {result.reports:,} bounce reports: "
                f"{len(result.suppressed):,} addresses suppressed, "
                f"{result.soft:,} temporary failures ignored."
            )

    guard(body)
