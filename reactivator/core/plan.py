"""The parameters of one pass, computed once from the policy and `now`.

They turn the per-customer rules into thresholds that set-based SQL can use:
one cutoff datetime per step, the zones now in quiet hours, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reactivator.core.model import Policy
from reactivator.core.quiet_hours import all_zone_names, quiet_ends_at, quiet_zones
from reactivator.core.value import ClassCutoffs


@dataclass(frozen=True, slots=True)
class PassParameters:
    now: datetime
    step_cutoffs: tuple[datetime, ...]  # dormant since at or before this => step is due
    apology_cutoff: datetime
    earliest_cutoff: datetime
    min_gap_since: datetime  # a letter after this is too recent
    cap_since: datetime  # letters after this count toward the frequency cap
    quiet_until: dict[str, datetime]  # zones now in quiet hours -> when their quiet ends
    classes: ClassCutoffs | None  # None when no rule needs the value classes


def pass_parameters(policy: Policy, now: datetime, classes: ClassCutoffs | None) -> PassParameters:
    """Thresholds for a pass at `now`; pure, so a dry run and a real run agree."""

    cutoffs = tuple(now - timedelta(days=s.from_days) for s in policy.steps)
    apology = now - timedelta(days=policy.apology.from_days)
    return PassParameters(
        now=now,
        step_cutoffs=cutoffs,
        apology_cutoff=apology,
        earliest_cutoff=max(cutoffs[0], apology),
        min_gap_since=now - policy.min_gap,
        cap_since=now - policy.cap_window,
        quiet_until={
            zone: quiet_ends_at(now, zone, policy.quiet_hours)
            for zone in quiet_zones(now, policy.quiet_hours, all_zone_names())
            if policy.quiet_hours is not None
        },
        classes=classes,
    )
