"""The campaign: the ladder's steps and the apology, who is worth returning, pacing; segments and value."""

from __future__ import annotations

import re
from datetime import time
from typing import Literal

from pydantic import Field, field_validator, model_validator

from reactivator.config import demo_shop
from reactivator.config.checks import SLUG
from reactivator.config.section import Section
from reactivator.core.routes import survey_code


class SegmentSettings(Section):
    tiers: tuple[int, ...] = (90, 180, 360)

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("give at least one tier, e.g. [90, 180, 360]")
        if any(d <= 0 for d in v) or list(v) != sorted(set(v)):
            raise ValueError("tiers must be positive day counts in ascending order, e.g. [90, 180, 360]")
        return v


class ValueSettings(Section):
    expected_years: float = Field(3.0, gt=0)
    a_share: float = Field(0.2, gt=0, lt=1)
    b_share: float = Field(0.3, ge=0, lt=1)

    @model_validator(mode="after")
    def _shares_fit(self) -> ValueSettings:
        if self.a_share + self.b_share > 1:
            raise ValueError("a_share + b_share must not exceed 1 (the rest is class C)")
        return self


def _step_key(v: str) -> str:
    if not SLUG.match(v):
        raise ValueError("step keys are lowercase words joined by '-', e.g. we-miss-you")
    return v


class StepSettings(Section):
    key: str
    from_days: int = Field(gt=0)
    discount_percent: int = Field(ge=0, le=90)

    _key = field_validator("key")(_step_key)


class ApologySettings(Section):
    """The one letter for the lost twice: after `from_days` dormant again, no discount."""

    key: str = "sorry-again"
    from_days: int = Field(90, gt=0)

    _key = field_validator("key")(_step_key)


class CouponSettings(Section):
    # With a pool of the shop's own codes (`reactivator import coupons`): alert (log,
    # metric, `reactivator status`) when a step has fewer unused codes than this.
    alert_below: int = Field(100, ge=0)


class CampaignSettings(Section):
    name: str = "winback"
    # The one-click "Why did you stop buying?" answers offered in every letter;
    # their labels live in the templates (templates/emails/<locale>/_strings.j2).
    survey_reasons: tuple[str, ...] = demo_shop.SURVEY_REASONS
    # An open pixel and signed click-tracking links in this campaign's letters.
    tracking: bool = True
    include_classes: tuple[Literal["A", "B", "C"], ...] = ("A", "B", "C")
    exclude_tags: tuple[str, ...] = ("bad_payer",)
    include_tags: tuple[str, ...] = ()
    min_orders: int = Field(1, ge=1)
    min_revenue: float = Field(0.0, ge=0)
    min_gap_days: int = Field(14, ge=0)
    cap_letters: int = Field(1, ge=1)
    cap_days: int = Field(7, ge=0)
    quiet_hours: bool = True
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)
    coupon_expiry_days: int = Field(30, gt=0)
    coupon_prefix: str = Field("", pattern=r"^[A-Z0-9-]{0,8}$")
    attribution_days: int = Field(30, ge=0)
    cost_per_letter: float = Field(0.0, ge=0)
    # The share of new enrollments held out as a control group (0: none).
    holdout_percent: float = Field(0.0, ge=0, le=50)
    steps: tuple[StepSettings, ...] = Field(
        default_factory=lambda: tuple(StepSettings.model_validate(s) for s in demo_shop.LADDER)
    )
    apology: ApologySettings = ApologySettings()

    @field_validator("survey_reasons")
    @classmethod
    def _reason_slugs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for reason in v:
            if not SLUG.match(reason):
                raise ValueError(
                    f"survey reason {reason!r} must be lowercase words joined by '-', e.g. too-expensive"
                )
        if len(set(v)) != len(v):
            raise ValueError("survey reasons must be unique")
        if len({survey_code(r) for r in v}) != len(v):  # a checksum shared: rename one of them
            raise ValueError("two survey reasons share a link code; rename one of them")
        return v

    @field_validator("exclude_tags", "include_tags")
    @classmethod
    def _tag_words(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for tag in v:
            if not re.fullmatch(r"[a-z0-9_-]+", tag):
                raise ValueError(f"tag {tag!r} must be lowercase letters, digits, '_' or '-'")
        return v

    @model_validator(mode="after")
    def _ladder_shape(self) -> CampaignSettings:
        if not self.steps:
            raise ValueError("the ladder needs at least one step")
        days = [s.from_days for s in self.steps]
        if days != sorted(set(days)):
            raise ValueError(f"steps must escalate: from_days {days} must be strictly ascending")
        keys = [s.key for s in self.steps] + [self.apology.key]
        if len(keys) != len(set(keys)):
            raise ValueError(f"step keys must be unique, got {keys}")
        return self
