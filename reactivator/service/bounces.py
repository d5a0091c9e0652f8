"""`reactivator bounces`: read bounce messages and suppress the addresses that hard-bounced."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from reactivator.core.model import Subscription
from reactivator.db.customers import find_customer, set_subscription, suppress
from reactivator.errors import InputError
from reactivator.feedback.dsn import bounces_in
from reactivator.feedback.mailboxes import read_messages
from reactivator.service.app import App


@dataclass
class BounceReport:
    messages: int = 0
    reports: int = 0  # messages that were DSNs
    suppressed: list[str] = field(default_factory=list)
    soft: int = 0  # delays and temporary failures: nothing to do


def process_bounces(app: App, source: Path, now: datetime) -> BounceReport:
    """Suppress every address a DSN in `source` reports as permanently failed (5.x.x)."""
    if not source.exists():
        raise InputError(f"{source}: no such file or Maildir folder")
    report = BounceReport()
    for raw in read_messages(source):
        report.messages += 1
        found = bounces_in(raw)
        if found:
            report.reports += 1
        for bounce in found:
            if not bounce.hard:
                report.soft += 1
                continue
            try:
                key = validate_email(bounce.recipient, check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                continue
            with app.db.write() as conn:
                customer = find_customer(conn, key)
                why = f"bounced: {bounce.status}"
                if customer is not None:
                    set_subscription(conn, customer.id, Subscription.BOUNCED, now, why)
                else:
                    suppress(conn, [key], Subscription.BOUNCED.value, now)
            report.suppressed.append(key)
    return report
