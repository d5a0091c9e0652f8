"""`reactivator intake` (and its old name `bounces`), and the daemon's poll: read a mailbox
into the feedback intake."""

from __future__ import annotations

from datetime import datetime

from reactivator.feedback.mail_events import events_in
from reactivator.feedback.mailboxes import read_mailbox
from reactivator.service.app import App
from reactivator.service.feedback_intake import Intake, IntakeReport


def read_feedback(app: App, source: str, now: datetime) -> IntakeReport:
    """Act on every unread message in `source`: bounces, complaints, unsubscribes, replies."""
    intake = Intake.start(app, now)
    own = [app.settings.sender.from_email, app.settings.delivery.return_path]
    unsubscribe = intake.unsubscribe_addresses()
    report = IntakeReport()
    for message in read_mailbox(source):
        report.messages += 1
        events = events_in(message.raw, own=[a for a in own if a], unsubscribe_addresses=unsubscribe)
        intake.apply(events, now, report)
        message.done()  # only once its events are stored: a crash before means reading it again
    return report
