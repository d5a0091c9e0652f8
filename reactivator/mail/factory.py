"""The one place a mailer is built from the settings: sending, readiness and test letters use it."""

from __future__ import annotations

from reactivator.config import Settings
from reactivator.core.ports import Mailer
from reactivator.mail.dkim_signing import SigningMailer, dkim_signer
from reactivator.mail.smtp_pool import SmtpPool


def build_mailer(settings: Settings, *, timeout_seconds: float | None = None) -> Mailer:
    """The configured transport (the SMTP server of [smtp]), DKIM-signing when [dkim] asks for it.

    `timeout_seconds` overrides the transport's own timeout (a readiness probe must answer fast).
    """
    smtp = settings.smtp
    if timeout_seconds is not None:
        smtp = smtp.model_copy(update={"timeout_seconds": timeout_seconds})
    mailer: Mailer = SmtpPool(smtp, settings.sender.from_email)
    sign = dkim_signer(settings.dkim)
    return SigningMailer(mailer, sign) if sign is not None else mailer
