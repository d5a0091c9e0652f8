"""`reactivator demo`: a shop, a campaign and its letters, from nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from reactivator.cli import views
from reactivator.cli.common import guard, program, state


def demo(
    db: Annotated[Path, typer.Option("--db", help="Where to create the demo database.")] = Path(
        "reactivator-demo.db"
    ),
    outbox: Annotated[Path, typer.Option("--outbox", help="Where the demo's letters are written.")] = Path(
        "demo-outbox"
    ),
) -> None:
    """Create a demo shop in a fresh SQLite database, run the campaign on it and show the results."""
    from reactivator.service.demo import run_demo

    def body() -> None:
        result = run_demo(db, outbox, datetime.now(UTC), config=state["config"])
        views.segments(result.segments)
        views.pass_report(result.pass_report, result.sent)
        views.campaign(result.campaign)
        views.out.print(
            f"\nDemo database: [bold]{db}[/]; "
            f"{result.letters_written} letters sent over SMTP to a capture server on 127.0.0.1 "
            f"and written to [bold]{outbox}/[/] (.eml as received, .html to open in a browser).\n"
            f"See what the letters caused, with charts:\n"
            f"  REACTIVATOR_DATABASE__URL=sqlite:///{db} {program()} console   (http://127.0.0.1:8027/)\n"
            f"Every letter, as a customer of each language got it, is in [bold]{outbox}/samples/[/]; see one "
            f"in a browser:\n"
            + "".join(
                f"  REACTIVATOR_DATABASE__URL=sqlite:///{db} {program()} preview {s.customer} "
                f"--step {s.step_key} --open   ({s.locale})\n"
                for s in result.samples[:2]
            )
            + f"Try: REACTIVATOR_DATABASE__URL=sqlite:///{db} {program()} run --dry-run\n"
            f"and: REACTIVATOR_DATABASE__URL=sqlite:///{db} {program()} report\n"
            f"and: REACTIVATOR_DATABASE__URL=sqlite:///{db} {program()} daemon --capture {outbox}"
        )

    guard(body)
