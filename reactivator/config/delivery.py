"""How letters leave: transport-neutral delivery rules, the SMTP server, DKIM, the sender's batches."""

from __future__ import annotations

from pydantic import Field, model_validator

from reactivator.config.section import Section


class DeliverySettings(Section):
    """What holds whatever transport carries the letters."""

    # Letters per second over all connections (0: no limit).
    messages_per_second: float = Field(0.0, ge=0)
    # Per recipient domain: letters in flight at once, and letters per second (0: no limit),
    # so that a big mailbox provider is not flooded.
    domain_concurrency: int = Field(4, ge=1)
    domain_messages_per_second: float = Field(0.0, ge=0)
    # A letter that keeps getting temporary failures is retried with growing,
    # jittered delays for this long after it was queued, then expires.
    retry_lifetime_hours: float = Field(72.0, gt=0)
    # After a policy refusal (the receiver blocks us) nothing more goes to that domain for this long.
    domain_pause_minutes: float = Field(30.0, gt=0)
    # The envelope sender (where bounces go); empty: the sender's from_email.
    # "{token}" in it is replaced per letter (VERP), e.g. "bounces+{token}@shop.example.com".
    return_path: str = ""


class SmtpSettings(Section):
    """The SMTP server and how to reach it."""

    # The defaults reach a local relay or capture server without TLS; the
    # password comes only from REACTIVATOR_SMTP_PASSWORD in the environment.
    host: str = "127.0.0.1"
    port: int = Field(1025, ge=1, le=65_535)
    username: str = ""
    starttls: bool = False
    tls: bool = False
    timeout_seconds: float = Field(30.0, gt=0)
    # Persistent connections kept open and reused for many letters.
    pool_size: int = Field(8, ge=1, le=100)

    @model_validator(mode="after")
    def _one_tls_mode(self) -> SmtpSettings:
        if self.starttls and self.tls:
            raise ValueError("choose starttls (port 587) or tls (implicit TLS, port 465), not both")
        return self


class DkimSettings(Section):
    # Sign every letter when a domain is set; the private key (PEM) comes only
    # from REACTIVATOR_DKIM_PRIVATE_KEY in the environment.
    domain: str = ""
    selector: str = "reactivator"


class SendingSettings(Section):
    batch_size: int = Field(200, ge=1)
    lease_seconds: int = Field(300, gt=0)
    # Threads that build letters and talk to the database while the connections
    # wait. Python runs one thread at a time, so more threads only help when the
    # database is far away, and they slow the daemon's web endpoints while a batch goes out.
    threads: int = Field(1, ge=1, le=32)
    # Processes that build letters beside the sending process (building is about half of a
    # letter's CPU). Unset: one less than the machine's cores, up to 4; 0 builds them in the
    # sending process.
    render_processes: int | None = Field(None, ge=0, le=32)
