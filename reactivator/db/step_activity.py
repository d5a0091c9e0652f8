"""Per step, what people did with the letters: opened, clicked, unsubscribed, bounced, came back with a code.

Only letters that went out count here (the control group's held letters reach
nobody); returns are those of the treatment (and of enrollments made while no
holdout ran).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, distinct, func, or_, select

from reactivator.core.feedback import BOUNCES, FeedbackKind
from reactivator.core.model import Arm, EnrollmentStatus, LetterStatus, Subscription
from reactivator.db.tables import customers, engagements, enrollments, feedback_events, letters


@dataclass(frozen=True, slots=True)
class StepActivity:
    held: int = 0  # letters recorded for the control group, never sent
    opened: int = 0  # letters opened by a person (machines apart)
    clicked: int = 0  # letters clicked by a person
    opened_by_machines: int = 0  # letters opened only by image proxies and scanners
    unsubscribed: int = 0  # customers who unsubscribed after this letter was their latest
    bounced: int = 0  # letters refused as a bad address, or reported bounced after they went
    bounced_after_sending: int = 0  # of them, those the server first accepted
    refused_by_policy: int = (
        0  # of those, refused for the sender's sake (blocklist, DMARC...), not the address
    )
    complained: int = 0  # letters marked as spam (ARF reports, ESP events)
    delivery_reports: int = 0  # letters an ESP reported delivered
    returned_with_code: int = 0  # returns paid with this step's coupon
    returned_without_code: int = 0  # returns credited to this step as the last letter, no code used


def treated() -> Any:
    """Enrollments whose letters went out: the treatment arm, or made while no holdout ran."""
    return or_(enrollments.c.arm.is_(None), enrollments.c.arm == Arm.TREATMENT.value)


def in_period(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    where = []
    if since is not None:
        where.append(column >= since)
    if until is not None:
        where.append(column < until)
    return where


def step_activity(
    conn: Connection, campaign: str, since: datetime | None = None, until: datetime | None = None
) -> dict[str, StepActivity]:
    """Per step key: what people did with the letters queued in [since, until)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    queued = [letters.c.campaign == campaign, *in_period(letters.c.queued_at, since, until)]

    held = select(letters.c.step_key, func.count()).where(
        *queued, letters.c.status == LetterStatus.HELD.value
    )
    for key, n in conn.execute(held.group_by(letters.c.step_key)):
        counts[key]["held"] = int(n)

    human = and_(engagements.c.machine.is_(False))
    for kind, name in (("open", "opened"), ("click", "clicked")):
        query = (
            select(letters.c.step_key, func.count(distinct(engagements.c.letter_id)))
            .select_from(engagements.join(letters, letters.c.id == engagements.c.letter_id))
            .where(*queued, engagements.c.kind == kind, human)
            .group_by(letters.c.step_key)
        )
        for key, n in conn.execute(query):
            counts[key][name] = int(n)
    person = engagements.alias("person")
    # A person's click proves the letter was opened, even when the pixel was blocked.
    machine_only = (
        select(letters.c.step_key, func.count(distinct(engagements.c.letter_id)))
        .select_from(engagements.join(letters, letters.c.id == engagements.c.letter_id))
        .where(*queued, engagements.c.kind == "open", engagements.c.machine.is_(True))
        .where(
            ~select(person.c.id)
            .where(person.c.letter_id == letters.c.id, person.c.machine.is_(False))
            .exists()
        )
        .group_by(letters.c.step_key)
    )
    for key, n in conn.execute(machine_only):
        counts[key]["opened_by_machines"] = int(n)

    refused = select(letters.c.step_key, func.count()).where(
        *queued, letters.c.status == LetterStatus.FAILED.value, letters.c.ended_reason.like("bounced:%")
    )
    for key, n in conn.execute(refused.group_by(letters.c.step_key)):
        counts[key]["bounced"] += int(n)

    # An opt-out is put down to the latest letter the customer was sent before it.
    mine = letters.alias("mine")
    latest = (
        select(mine.c.id)
        .where(
            mine.c.customer_id == customers.c.id,
            mine.c.campaign == campaign,
            mine.c.status == LetterStatus.SENT.value,
            mine.c.sent_at <= customers.c.unsubscribed_at,
        )
        .order_by(mine.c.sent_at.desc(), mine.c.id.desc())
        .limit(1)
        .correlate(customers)
        .scalar_subquery()
    )
    complained = (
        select(feedback_events.c.id)
        .where(
            feedback_events.c.customer_id == customers.c.id,
            feedback_events.c.kind == FeedbackKind.COMPLAINT.value,
        )
        .exists()
    )
    opt_outs = (
        select(letters.c.step_key, func.count())
        .select_from(customers.join(letters, letters.c.id == latest))
        .where(
            customers.c.subscription == Subscription.UNSUBSCRIBED.value,
            ~complained,  # counted as complaints below
            *in_period(letters.c.queued_at, since, until),
        )
        .group_by(letters.c.step_key)
    )
    for key, n in conn.execute(opt_outs):
        counts[key]["unsubscribed"] += int(n)

    # What came back after a letter went out (bounce reports, ESP events, complaints), one per letter.
    came_back = (
        select(feedback_events.c.kind, letters.c.step_key, func.count(distinct(letters.c.id)))
        .select_from(feedback_events.join(letters, letters.c.id == feedback_events.c.letter_id))
        .where(
            *queued,
            feedback_events.c.kind.in_(
                [k.value for k in (*BOUNCES, FeedbackKind.COMPLAINT, FeedbackKind.DELIVERED)]
            ),
        )
        .group_by(feedback_events.c.kind, letters.c.step_key)
    )
    for kind, key, n in conn.execute(came_back):
        if kind == FeedbackKind.COMPLAINT.value:
            counts[key]["complained"] += int(n)
        elif kind == FeedbackKind.DELIVERED.value:
            counts[key]["delivery_reports"] += int(n)
        else:
            counts[key]["bounced"] += int(n)
            counts[key]["bounced_after_sending"] += int(n)
            if kind == FeedbackKind.POLICY.value:
                counts[key]["refused_by_policy"] += int(n)

    own_code = (
        select(letters.c.id)
        .where(
            letters.c.enrollment_id == enrollments.c.id, letters.c.coupon_code == enrollments.c.return_coupon
        )
        .exists()
    )
    returns = (
        select(enrollments.c.return_step, own_code, func.count())
        .where(
            enrollments.c.campaign == campaign,
            enrollments.c.status == EnrollmentStatus.RETURNED.value,
            enrollments.c.return_step.is_not(None),
            treated(),
            *in_period(enrollments.c.ended_at, since, until),
        )
        .group_by(enrollments.c.return_step, own_code)
    )
    for key, with_code, n in conn.execute(returns):
        counts[key]["returned_with_code" if with_code else "returned_without_code"] += int(n)
    return {key: StepActivity(**values) for key, values in counts.items()}
