"""The retry schedule of temporary failures: tenacity's exponential backoff with jitter."""

from __future__ import annotations

from datetime import timedelta

from tenacity import RetryCallState, wait_exponential_jitter

# 1, 2, 4, 8 ... minutes (plus up to a minute of jitter), at most 6 hours apart.
_BACKOFF = wait_exponential_jitter(multiplier=60, max=6 * 3600, jitter=60)


def retry_delay(attempt: int) -> timedelta:
    """How long to wait before attempt `attempt + 1` of a letter."""
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = max(1, attempt)
    return timedelta(seconds=_BACKOFF(state))
