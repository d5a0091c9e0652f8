"""The send report: one count per outcome of core.delivery."""

from __future__ import annotations

from dataclasses import fields

from reactivator.core.delivery import OutcomeKind
from reactivator.service.delivery import SendReport


def test_the_send_report_counts_every_outcome_by_its_name() -> None:
    assert [f.name for f in fields(SendReport)] == [kind.value for kind in OutcomeKind]
    report = SendReport()
    for kind in OutcomeKind:
        report.count(kind)
    assert report.letters() == len(OutcomeKind)
