"""Mail transports behind the `Mailer` port (core/ports.py).

    smtp_pool      persistent aiosmtplib connections to the configured SMTP server
    memory         the in-memory twin, for dry runs, the demo's history and tests
    capture        a loopback SMTP server that writes each letter to a folder (demo, --capture)
    dkim_signing   DKIM as a wrapper around any mailer
    factory        `build_mailer`: the one place a mailer is made from the settings

A transport reports refusals as DeliveryError with a core `Refusal` reason;
nothing above it reads SMTP replies.
"""
