"""Quiet hours: local wall-clock windows, including those that wrap midnight."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from reactivator.core.model import QuietHours
from reactivator.core.quiet_hours import all_zone_names, in_quiet_hours, is_quiet, quiet_zones

NIGHT = QuietHours(time(21), time(9))  # wraps midnight
LUNCH = QuietHours(time(13), time(15))  # does not wrap


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(20, 59, 59), False),
        (time(21, 0), True),
        (time(23, 59, 59), True),
        (time(0, 0), True),
        (time(3, 30), True),
        (time(8, 59, 59), True),
        (time(9, 0), False),
        (time(12, 0), False),
    ],
)
def test_window_that_wraps_midnight(local: time, quiet: bool) -> None:
    assert is_quiet(local, NIGHT) is quiet


@pytest.mark.parametrize(
    ("local", "quiet"),
    [(time(12, 59, 59), False), (time(13, 0), True), (time(14, 59, 59), True), (time(15, 0), False)],
)
def test_window_within_one_day_includes_start_and_excludes_end(local: time, quiet: bool) -> None:
    assert is_quiet(local, LUNCH) is quiet


@pytest.mark.parametrize("local", [time(0), time(9), time(12), time(23, 59)])
def test_window_with_equal_start_and_end_is_never_quiet(local: time) -> None:
    assert is_quiet(local, QuietHours(time(9), time(9))) is False


def test_quiet_hours_are_read_in_the_given_zone() -> None:
    now = datetime(2024, 6, 15, 19, 0, tzinfo=UTC)
    assert in_quiet_hours(now, "Europe/Moscow", NIGHT) is True  # 22:00 in Moscow
    assert in_quiet_hours(now, "UTC", NIGHT) is False  # 19:00
    assert in_quiet_hours(now, "America/New_York", NIGHT) is False  # 15:00


def test_no_window_is_never_quiet() -> None:
    assert in_quiet_hours(datetime(2024, 6, 15, 3, 0, tzinfo=UTC), "UTC", None) is False


def test_daylight_saving_time_shifts_the_local_hour() -> None:
    winter = datetime(2024, 1, 15, 1, 30, tzinfo=UTC)  # 20:30 EST
    summer = datetime(2024, 7, 15, 1, 30, tzinfo=UTC)  # 21:30 EDT
    assert in_quiet_hours(winter, "America/New_York", NIGHT) is False
    assert in_quiet_hours(summer, "America/New_York", NIGHT) is True


def test_half_hour_offset_zone_is_respected() -> None:
    start = datetime(2024, 1, 15, 15, 30, tzinfo=UTC)  # 21:00 in Kolkata (UTC+05:30)
    assert in_quiet_hours(start, "Asia/Kolkata", NIGHT) is True
    assert in_quiet_hours(start - timedelta(minutes=1), "Asia/Kolkata", NIGHT) is False


def test_now_given_in_another_offset_means_the_same_instant() -> None:
    in_utc = datetime(2024, 6, 15, 19, 0, tzinfo=UTC)
    in_plus_five = in_utc.astimezone(timezone(timedelta(hours=5)))
    for zone in ("UTC", "Europe/Moscow", "Asia/Tokyo", "America/Los_Angeles"):
        assert in_quiet_hours(in_plus_five, zone, NIGHT) == in_quiet_hours(in_utc, zone, NIGHT)


def test_quiet_zones_lists_exactly_the_zones_now_at_night() -> None:
    now = datetime(2024, 6, 15, 19, 0, tzinfo=UTC)
    zones = ["UTC", "Europe/Moscow", "Asia/Tokyo", "America/New_York"]
    assert quiet_zones(now, NIGHT, zones) == frozenset({"Europe/Moscow", "Asia/Tokyo"})


def test_quiet_zones_is_empty_without_a_window() -> None:
    now = datetime(2024, 6, 15, 2, 0, tzinfo=UTC)
    assert quiet_zones(now, None, ["UTC", "Europe/Moscow"]) == frozenset()


def test_all_zone_names_include_utc_and_common_zones() -> None:
    names = all_zone_names()
    assert {"UTC", "Europe/Moscow", "America/New_York", "Asia/Kolkata"} <= names
