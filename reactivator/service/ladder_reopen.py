"""`reactivator reopen`: after steps are added at the end of the ladder, customers who had walked
all of the shorter ladder without coming back walk on to the new steps, each on its own day.

Without it nothing changes for them: a finished ladder stays finished (they get the apology
only if they buy again and lapse again). That is the cautious default; reopening is the
shop's choice, made once, after it has seen the count with --dry-run.
"""

from __future__ import annotations

from reactivator.core.model import EnrollmentKind
from reactivator.db.ladder_reopen import finished_short, reopen
from reactivator.service.app import App


def reopen_finished(app: App, *, dry_run: bool = False) -> int:
    """How many finished enrollments walk on (or would, with `dry_run`)."""
    length = app.policy.ladder_length(EnrollmentKind.LADDER)
    with app.db.write() as conn:
        found = finished_short(conn, length)
        return len(found) if dry_run else reopen(conn, found)
