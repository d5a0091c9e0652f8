"""Measure the mailbox reader on a set of real bounces with what a careful sender should do.

The set's `expected.csv` gives, per message and recipient, a class: hard (suppress),
soft (never suppress), policy (the receiver refused the sender: never suppress),
none (not a bounce). Rows with a note are left out of the rates, as the set asks.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from reactivator.core.feedback import BOUNCES, FeedbackKind
from reactivator.feedback.mail_events import events_in

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"
SUPPRESSING = {FeedbackKind.HARD_BOUNCE, FeedbackKind.COMPLAINT}


@dataclass
class Rates:
    total: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    events_from_non_bounces: int = 0
    wrong: list[str] = field(default_factory=list)

    def rate(self, klass: str) -> float:
        return self.suppressed.get(klass, 0) / self.total[klass]


def measure(corpus: Path = CORPUS) -> Rates:
    rates = Rates()
    with (corpus / "expected.csv").open(newline="") as rows:
        for row in csv.DictReader(rows):
            if row["note"] and row["class"] != "none":
                continue
            events = events_in((corpus / "messages" / row["file"]).read_bytes())
            klass = row["class"]
            rates.total[klass] = rates.total.get(klass, 0) + 1
            if klass == "none":
                # A complaint or an auto-reply is read as such; no bounce may come of it.
                rates.events_from_non_bounces += sum(e.kind in BOUNCES for e in events)
                continue
            mine = [e for e in events if e.recipient == row["expected_recipient"].lower()]
            suppressed = any(e.kind in SUPPRESSING for e in mine)
            rates.suppressed[klass] = rates.suppressed.get(klass, 0) + suppressed
            if suppressed != (klass == "hard"):
                rates.wrong.append(
                    f"{row['file']}: {klass} ({row['reason']}), read {[e.kind.value for e in mine]}"
                )
    return rates


if __name__ == "__main__":
    found = measure()
    for klass in ("hard", "soft", "policy"):
        print(f"{klass:>6}: {found.rate(klass):6.1%} suppressed of {found.total[klass]}")
    print(f"events from {found.total.get('none', 0)} non-bounces: {found.events_from_non_bounces}")
