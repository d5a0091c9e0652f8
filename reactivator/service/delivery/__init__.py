"""Sending: hand queued letters to a mailer: claim, check again, build, send, record.

The letters table is a ledger. Letters are claimed in batches with a lease,
then handed over by as many concurrent workers as the mailer takes letters at
once; each result is recorded as soon as the server answers (results that
arrive together share one commit, and a connection takes its next letter only
once its last result is durable), so after a crash a letter can go out twice
only if it was already handed over and not yet recorded: at most one per
connection, and with its original Message-ID.
Every letter ends as sent, failed, expired or cancelled, with the reason.

    batches     `send_due`: claim, load, hand over, give back what was not sent
    handover    one letter: the last check, build, send, and recording its outcome
    run         what the workers of one `send_due` share
    report      what a run did, counted by outcome
    backoff     the retry schedule (tenacity)
    throttle    global and per-domain pace, domain pauses
    send_loop   the daemon's send loop: a thread of its own, sending whatever is due

What a letter's fate should be (the last check, what a refusal leads to) is
decided by core.delivery; this package applies it.
"""

from reactivator.service.delivery.batches import send_due, send_with_configured_mailer
from reactivator.service.delivery.report import SendReport, worker_name

__all__ = ["SendReport", "send_due", "send_with_configured_mailer", "worker_name"]
