"""Preview: the letter a customer would get, built by the sending code, sent nowhere.

A customer with a letter in the queue previews that very letter (its coupon,
its Message-ID). Otherwise the letter is the one a pass at `now` would queue
for them, or the step asked for, with a placeholder coupon. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reactivator.core.model import (
    DUE_VERDICTS,
    VERDICT_EXPLANATIONS,
    EnrollmentKind,
    EnrollmentStatus,
    LetterStatus,
    Step,
    Verdict,
)
from reactivator.core.records import Letter
from reactivator.db import letters as letter_rows
from reactivator.db.customers import CustomerSummary, find_customer
from reactivator.errors import InputError, TemplateError, UnknownCustomerError
from reactivator.render.check import template_problem
from reactivator.render.composer import Composed, Composer
from reactivator.service import passes
from reactivator.service.app import App
from reactivator.service.recommendations import picks_for

PREVIEW_COUPON = "PREVIEW-CODE"


@dataclass(frozen=True)
class Preview:
    composed: Composed
    step_key: str
    source: str  # where the letter came from, for the reader


def _letter_for(customer: CustomerSummary, step: Step, app: App, now: datetime) -> Letter:
    days = app.settings.campaign.coupon_expiry_days
    domain = app.settings.sender.from_email.rpartition("@")[2]
    return Letter(
        letter_id=0,
        message_id=f"<preview.{customer.id}.{step.key}@{domain}>",
        step_key=step.key,
        step_index=step.index,
        kind=step.kind,
        discount_percent=step.discount_percent,
        coupon_code=app.settings.campaign.coupon_prefix + PREVIEW_COUPON if step.discount_percent else None,
        coupon_expires_at=now + timedelta(days=days) if step.discount_percent else None,
        customer_id=customer.id,
        customer_external_id=customer.external_id,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        locale=customer.locale,
        timezone=customer.timezone,
        account_manager=customer.account_manager,
        tags=customer.tags,
        last_purchase_at=customer.last_purchase_at,
        orders_count=customer.orders_count,
        subscription=customer.subscription,
        enrollment_status=EnrollmentStatus.ACTIVE,
        letter_status=LetterStatus.QUEUED,
        products=picks_for(app, customer.id, step.key, now),
    )


def preview_customer(
    app: App, composer: Composer, ref: str, now: datetime, step_key: str | None = None
) -> Preview:
    """The letter customer `ref` would get at `now` (or for `step_key`), composed but not sent."""
    with app.db.read() as conn:
        customer = find_customer(conn, ref)
        if customer is None:
            raise UnknownCustomerError(ref)
        queued_id = letter_rows.queued_for(conn, customer.id)
        queued = letter_rows.load(conn, [queued_id])[0] if queued_id is not None else None
    if queued is not None and step_key in (None, queued.step_key):
        source = f"letter #{queued.letter_id}, queued for {queued.step_key}"
        return Preview(_compose(app, composer, queued, now), queued.step_key, source)
    if step_key is not None:
        step = composer.step(step_key)
        source = f"step {step.key} as asked (placeholder coupon)"
    else:
        planned = passes.decision(app, customer.id, now)
        if planned is None or planned.verdict not in DUE_VERDICTS or planned.kind is None:
            if planned is not None:
                why = VERDICT_EXPLANATIONS[planned.verdict]
            elif customer.last_purchase_at is None:
                why = VERDICT_EXPLANATIONS[Verdict.NEVER_BOUGHT]  # as `reactivator customer` says
            else:
                why = VERDICT_EXPLANATIONS[Verdict.NOT_DORMANT]
            with app.db.read() as conn:
                had = letter_rows.last_step_of(conn, customer.id)
            hint = f"--step {had} (their last letter)" if had else f"--step {composer.steps()[0].key}"
            raise InputError(
                f"customer {customer.external_id} gets no letter at {now:%Y-%m-%d %H:%M}: {why}. "
                f"Give {hint} to preview a step anyway."
            )
        kind = EnrollmentKind(planned.kind)
        step = composer.step(app.policy.step(kind, planned.step_index or 0).key)
        source = f"the {step.key} letter a pass now would queue (placeholder coupon)"
    if not customer.email:
        raise InputError(f"customer {customer.external_id} was erased; there is no letter to preview")
    return Preview(_compose(app, composer, _letter_for(customer, step, app, now), now), step.key, source)


def _compose(app: App, composer: Composer, letter: Letter, now: datetime) -> Composed:
    """The letter, or a TemplateError naming file:line: a broken template never shows a traceback."""
    try:
        return composer.compose(letter, now)
    except Exception as exc:
        problem = template_problem(exc, composer.catalog.sources)
        raise TemplateError([str(problem)], str(app.settings.templates.dir)) from None
