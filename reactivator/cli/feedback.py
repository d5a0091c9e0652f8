"""What comes back from mailbox providers and people: `intake` (bounces, complaints,
unsubscribes and replies by mail; `bounces` is its old name) and `resume` (a step the
complaint brake stopped)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from reactivator.cli import views
from reactivator.cli.common import JsonOption, app_from_state, guard

SourceArgument = Annotated[
    str,
    typer.Argument(
        help="A Maildir folder, an mbox file, one message file, or imap://user@host[:port]/FOLDER "
        "(imaps:// for TLS; the password from REACTIVATOR_IMAP_PASSWORD)."
    ),
]


def intake(source: SourceArgument, as_json: JsonOption = False) -> None:
    """Read a mailbox: bounces, complaints, mails to the unsubscribe address, replies.

    A bounce suppresses the bad address. A complaint (ARF) unsubscribes its sender.
    A reply stops the ladder, for a person to answer."""

    def body() -> None:
        from reactivator.service.feedback_mailbox import read_feedback

        result = read_feedback(app_from_state(), source, datetime.now(UTC))
        if as_json:
            views.print_json(
                {
                    "messages": result.messages,
                    "events": dict(sorted(result.events.items())),
                    "repeated": result.repeated,
                    "unknown": result.unknown,
                    "suppressed": len(result.suppressed),
                    "unsubscribed": result.unsubscribed,
                    "replies": result.replies,
                    "stopped_steps": result.stopped_steps,
                }
            )
        else:
            views.intake_summary(result)

    guard(body)


def bounces(source: SourceArgument, as_json: JsonOption = False) -> None:
    """The old name of `intake`: read bounces (and complaints, unsubscribes, replies) from a mailbox."""
    intake(source, as_json)


def resume(
    step: Annotated[str, typer.Argument(help="The step the complaint brake stopped, e.g. we_miss_you.")],
) -> None:
    """Let a step the complaint brake stopped send again (its rate is counted afresh from now)."""

    def body() -> None:
        from reactivator.config.policy import policy_from_settings
        from reactivator.errors import InputError
        from reactivator.service.complaint_brake import resume as resume_step

        app = app_from_state()
        known = [s.key for s in policy_from_settings(app.settings).all_steps()]
        if step not in known:
            raise InputError(f"no step {step!r} in the campaign; the steps are: {', '.join(known)}")
        if resume_step(app, step, datetime.now(UTC)):
            views.out.print(f"Step {step} sends again; its complaint rate is counted afresh from now.")
        else:
            views.out.print(f"Step {step} was not stopped: nothing to do.")

    guard(body)
