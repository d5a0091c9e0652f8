"""Quiet hours: no letter lands in the middle of someone's night."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

from reactivator.core.model import QuietHours


@lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def is_quiet(local: time, window: QuietHours) -> bool:
    """True if the local wall-clock time falls in the window (which may wrap midnight)."""
    if window.start == window.end:
        return False
    if window.start < window.end:
        return window.start <= local < window.end
    return local >= window.start or local < window.end


def in_quiet_hours(now: datetime, tz_name: str, window: QuietHours | None) -> bool:
    """True if `now` (aware) is inside the quiet window in the zone `tz_name`."""
    if window is None:
        return False
    local = now.astimezone(_zone(tz_name)).time()
    return is_quiet(local, window)


def quiet_zones(now: datetime, window: QuietHours | None, zones: Iterable[str]) -> frozenset[str]:
    """The zones among `zones` that are in quiet hours at `now`; lets SQL filter by zone."""
    if window is None:
        return frozenset()
    return frozenset(z for z in zones if in_quiet_hours(now, z, window))


def all_zone_names() -> frozenset[str]:
    """Every IANA zone name this machine knows (from tzdata)."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def quiet_ends_at(now: datetime, tz_name: str, window: QuietHours) -> datetime:
    """When the quiet window that contains `now` ends, as an aware UTC instant."""

    zone = _zone(tz_name)
    local = now.astimezone(zone)
    end = local.replace(hour=window.end.hour, minute=window.end.minute, second=0, microsecond=0)
    if end <= local:
        end = (local + timedelta(days=1)).replace(
            hour=window.end.hour, minute=window.end.minute, second=0, microsecond=0
        )
    # Re-attach the zone so a DST change in between lands on the wall-clock time.
    return end.replace(tzinfo=zone).astimezone(UTC)
