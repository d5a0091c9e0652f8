"""Mail transports: the in-memory twin here; the SMTP adapter beside it."""
