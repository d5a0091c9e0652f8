"""One pass of the campaign: decide for every dormant customer, then queue and send.

A dry run reads the same set-based plan a real pass writes from, and changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reactivator.core.ladder import needs_value_classes
from reactivator.core.model import DUE_VERDICTS, STEPLESS_VERDICTS, Arm, EnrollmentKind, Verdict
from reactivator.core.plan import pass_parameters
from reactivator.core.records import PlannedCustomer
from reactivator.db.holdout import holdout_salt, make_holdout_salt
from reactivator.db.passes import PassWrites, run_pass, take_pass_lock
from reactivator.db.planner import PlanQuery, decision_for, iter_trace, scan_beats_index, summary_counts
from reactivator.db.planner_trace import iter_trace_lines
from reactivator.db.value_classes import class_cutoffs
from reactivator.service.app import App
from reactivator.service.recommendations import choose_for_queued

if TYPE_CHECKING:
    from sqlalchemy import Connection  # the type of what app.db hands out; no SQL is run here


@dataclass(frozen=True, slots=True)
class VerdictCount:
    verdict: Verdict
    step_key: str | None
    enters: bool
    customers: int
    arm: Arm | None = None  # while a holdout runs: the arm of the enrollment the decision is about


@dataclass
class PassReport:
    now: datetime
    dry_run: bool
    decisions: list[VerdictCount] = field(default_factory=list)
    writes: PassWrites | None = None

    def due(self) -> int:
        return sum(d.customers for d in self.decisions if d.verdict in DUE_VERDICTS)

    def due_by_arm(self) -> dict[str, int]:
        """Letters due, per arm ("none" outside any holdout): the control's are held back."""
        counts = {arm.value if arm else "none": 0 for arm in (None, *Arm)}
        for d in self.decisions:
            if d.verdict in DUE_VERDICTS:
                counts[d.arm.value if d.arm else "none"] += d.customers
        return counts


def step_key(
    app: App, kind: EnrollmentKind | str | None, index: int | None, verdict: Verdict | None = None
) -> str | None:
    """The key of the step a decision concerns; none for verdicts about the customer as a whole."""
    if kind is None or index is None or verdict in STEPLESS_VERDICTS:
        return None
    kind = EnrollmentKind(kind)
    if index >= app.policy.ladder_length(kind):
        return None
    return app.policy.step(kind, index).key


def _plan(
    app: App,
    conn: Connection,
    now: datetime,
    *,
    show_classes: bool = False,
    salt: str | None = None,
    one_customer: bool = False,
) -> PlanQuery:
    """The pass's query; the value classes are worked out only if a rule or the reader needs them.

    A holdout records each new enrollment's class, so it always needs them.
    """
    value = app.settings.value
    holdout = app.policy.holdout_percent > 0
    needed = show_classes or holdout or needs_value_classes(app.policy)
    classes = class_cutoffs(conn, value.a_share, value.b_share) if needed else None
    if holdout and salt is None:
        salt = holdout_salt(conn)
    params = pass_parameters(app.policy, now, classes)
    # Counting the dormant to choose an access path pays off only when all of them are read.
    scan = not one_customer and scan_beats_index(conn, params.earliest_cutoff)
    return PlanQuery(app.policy, params, app.campaign, salt, whole_table=scan)


def _decisions(app: App, conn: Connection, plan: PlanQuery) -> list[VerdictCount]:
    merged: dict[tuple[Verdict, str | None, bool, Arm | None], int] = defaultdict(int)
    for row in summary_counts(conn, plan):
        key = step_key(app, row.kind, row.step_index, row.verdict)
        arm = row.arm if key is not None else None
        merged[(row.verdict, key, row.enters and key is not None, arm)] += row.customers
    counts = [VerdictCount(v, key, enters, n, arm) for (v, key, enters, arm), n in merged.items()]
    return sorted(
        counts,
        key=lambda c: (
            c.verdict not in DUE_VERDICTS,
            c.verdict is not Verdict.SEND,
            c.verdict.value,
            c.step_key or "",
            c.arm is Arm.CONTROL,
        ),
    )


def _ensure_salt(app: App, now: datetime) -> None:
    """`db upgrade` makes the holdout salt; a database that lost it gets one before a dry run reads arms."""
    if app.policy.holdout_percent <= 0:
        return
    with app.db.read() as conn:
        if holdout_salt(conn) is not None:
            return
    with app.db.write() as conn:
        make_holdout_salt(conn, now)


def plan_pass(app: App, now: datetime) -> PassReport:
    """What a pass at `now` would do, counted by decision; changes nothing."""
    _ensure_salt(app, now)
    with app.db.read() as conn:
        plan = _plan(app, conn, now)
        return PassReport(now=now, dry_run=True, decisions=_decisions(app, conn, plan))


@contextmanager
def trace(app: App, now: datetime, limit: int | None = None) -> Iterator[Iterator[PlannedCustomer]]:
    """Stream the per-customer decisions of a pass at `now` (read-only)."""
    _ensure_salt(app, now)
    with app.db.read() as conn:
        yield iter_trace(conn, _plan(app, conn, now, show_classes=True), limit)


@contextmanager
def trace_lines(app: App, now: datetime) -> Iterator[Iterator[list[str]]]:
    """The same trace as JSON lines made by the database, in chunks (read-only).

    Each line holds customer, last_purchase_at, value_class, decision, step, enters and arm.
    """
    _ensure_salt(app, now)
    with app.db.read() as conn:
        yield iter_trace_lines(conn, _plan(app, conn, now, show_classes=True))


def decision(app: App, customer_id: int, now: datetime) -> PlannedCustomer | None:
    """What a pass at `now` would decide for one customer (None: not dormant)."""
    _ensure_salt(app, now)
    with app.db.read() as conn:
        return decision_for(conn, _plan(app, conn, now, one_customer=True), customer_id)


def enroll_and_queue(app: App, now: datetime) -> PassReport:
    """A real pass: enroll who is due, queue their letters, advance enrollments (one transaction).

    Passes never overlap: on PostgreSQL this one waits while another process's pass runs.
    """
    report = _enroll_and_queue(app, now, wait=True)
    assert report is not None
    return report


def try_enroll_and_queue(app: App, now: datetime) -> PassReport | None:
    """enroll_and_queue, or None at once if another process of the fleet is running a pass."""
    return _enroll_and_queue(app, now, wait=False)


def _enroll_and_queue(app: App, now: datetime, *, wait: bool) -> PassReport | None:
    c = app.settings.campaign
    with app.db.write() as conn:
        if not take_pass_lock(conn, app.campaign, wait=wait):
            return None
        salt = make_holdout_salt(conn, now) if app.policy.holdout_percent > 0 else None
        plan = _plan(app, conn, now, salt=salt)
        decisions = _decisions(app, conn, plan)
        writes = run_pass(
            conn,
            plan,
            app.policy,
            coupon_expiry=timedelta(days=c.coupon_expiry_days),
            coupon_prefix=c.coupon_prefix,
            message_domain=app.settings.sender.from_email.rpartition("@")[2],
        )
        # In the same transaction: a letter never goes out before its products are chosen.
        choose_for_queued(app, conn, now)
    return PassReport(now=now, dry_run=False, decisions=decisions, writes=writes)
