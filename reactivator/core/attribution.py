"""The window in which an enrollment's outcome is measured, the same for both arms of a holdout.

An enrollment is watched from the day it starts until its ladder would have
ended plus the attribution days: the last step's day (counted, like every
step, from the last purchase before enrolling) or the enrolment itself if that
came later, then `attribution` more. The window does not depend on what
happened (a return, an unsubscribe, a bounce), so treatment and control
enrollments are watched for the same span and their outcomes compare. It ends
early only when the customer enrols again (their next enrollment is measured
on its own) or at the end of the period the report reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reactivator.core.model import EnrollmentKind, Policy


@dataclass(frozen=True, slots=True)
class Watched:
    """What the window needs to know of one enrollment."""

    kind: EnrollmentKind
    enrolled_at: datetime
    dormant_since: datetime
    next_enrolled_at: datetime | None = None


def window_end(watched: Watched, policy: Policy, attribution: timedelta, until: datetime) -> datetime:
    """The moment up to which this enrollment's orders count (exclusive)."""
    last_step = policy.ladder(watched.kind)[-1]
    ladder_end = max(watched.enrolled_at, watched.dormant_since + timedelta(days=last_step.from_days))
    end = min(ladder_end + attribution, until)
    if watched.next_enrolled_at is not None:
        end = min(end, watched.next_enrolled_at)
    return end


def in_window(placed_at: datetime, watched: Watched, end: datetime) -> bool:
    """Whether an order placed at `placed_at` is part of this enrollment's outcome."""
    return watched.enrolled_at <= placed_at < end
