"""Freeze windows recur in local wall-clock time, across DST changes and week boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.release.freeze_window import FreezeWindowError, local_instant, parse_freeze_window

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekend_freeze_in_berlin_winter_and_summer_time() -> None:
    window = parse_freeze_window("Fri 16:00-Mon 08:00 Europe/Berlin")
    # Winter (CET, UTC+1): Fri 16:00 local = 15:00 UTC.
    assert window.active_span(utc(2026, 1, 9, 14, 59)) is None
    assert window.active_span(utc(2026, 1, 9, 15, 0)) == (utc(2026, 1, 9, 15), utc(2026, 1, 12, 7))
    # Summer (CEST, UTC+2): Fri 16:00 local = 14:00 UTC.
    assert window.active_span(utc(2026, 7, 10, 14, 0)) == (utc(2026, 7, 10, 14), utc(2026, 7, 13, 6))
    assert window.active_span(utc(2026, 7, 13, 6, 0)) is None


def test_a_window_spanning_the_spring_dst_change_ends_at_local_time() -> None:
    window = parse_freeze_window("Fri 16:00-Mon 08:00 Europe/Berlin")
    # Starts in CET on 2026-03-27, clocks go forward on Sunday the 29th, ends Monday 08:00 CEST.
    span = window.active_span(utc(2026, 3, 29, 12))
    assert span == (utc(2026, 3, 27, 15), utc(2026, 3, 30, 6))
    assert span[1] - span[0] == timedelta(hours=63)  # one hour shorter than usual


def test_a_window_spanning_the_autumn_dst_change_is_an_hour_longer() -> None:
    window = parse_freeze_window("Fri 16:00-Mon 08:00 Europe/Berlin")
    span = window.active_span(utc(2026, 10, 25, 12))
    assert span == (utc(2026, 10, 23, 14), utc(2026, 10, 26, 7))
    assert span[1] - span[0] == timedelta(hours=65)


def test_a_dated_window() -> None:
    window = parse_freeze_window("2026-12-24 00:00-2026-12-27 00:00 America/Chicago")
    assert window.active_span(utc(2026, 12, 24, 5, 59)) is None
    assert window.active_span(utc(2026, 12, 24, 6, 0)) == (utc(2026, 12, 24, 6), utc(2026, 12, 27, 6))


def test_a_start_inside_the_spring_gap_moves_to_the_first_valid_instant() -> None:
    assert local_instant(date(2026, 3, 29), time(2, 30), BERLIN) == utc(2026, 3, 29, 1, 0)


def test_an_ambiguous_autumn_time_is_its_first_occurrence() -> None:
    assert local_instant(date(2026, 10, 25), time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)


@pytest.mark.parametrize(("text", "complaint"), [
    ("Fri 16:00-Mon 08:00", "is not a freeze window"),
    ("Fry 16:00-Mon 08:00 UTC", "not a day of the week"),
    ("Fri 25:00-Mon 08:00 UTC", "not a time of day"),
    ("Fri 16:00-Mon 08:00 Mars/Olympus", "not an IANA time zone"),
    ("2026-12-27 00:00-2026-12-24 00:00 UTC", "ends before it starts"),
    ("2026-13-01 00:00-2026-12-24 00:00 UTC", "not a date"),
])
def test_malformed_windows_are_explained(text: str, complaint: str) -> None:
    with pytest.raises(FreezeWindowError, match=complaint):
        parse_freeze_window(text)


ZONES = ["Europe/Berlin", "America/Chicago", "Australia/Lord_Howe", "Asia/Kolkata", "UTC", "America/Sao_Paulo"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@given(
    zone=st.sampled_from(ZONES), start_day=st.sampled_from(DAYS), end_day=st.sampled_from(DAYS),
    start=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    end=st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    instant=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_an_instant_is_frozen_exactly_when_its_local_time_lies_inside_the_weekly_window(
        zone: str, start_day: str, end_day: str, start: time, end: time, instant: datetime) -> None:
    window = parse_freeze_window(f"{start_day} {start:%H:%M}-{end_day} {end:%H:%M} {zone}")
    span = window.active_span(instant)
    if span is not None:
        begin, finish = span
        assert begin <= instant < finish
        assert begin.astimezone(ZoneInfo(zone)).strftime("%a") == start_day or _in_gap(begin, zone)
        assert finish - begin <= timedelta(days=7, hours=3)
    # Compare with a brute-force reading of the local wall clock.
    local = instant.astimezone(ZoneInfo(zone))
    minute_of_week = local.weekday() * 1440 + local.hour * 60 + local.minute
    lo = DAYS.index(start_day) * 1440 + start.hour * 60 + start.minute
    hi = DAYS.index(end_day) * 1440 + end.hour * 60 + end.minute
    inside = (lo <= minute_of_week < hi) if lo < hi else (minute_of_week >= lo or minute_of_week < hi)
    if not _near_transition(instant, zone):
        assert (span is not None) == inside


def _in_gap(instant: datetime, zone: str) -> bool:
    before = (instant - timedelta(seconds=1)).astimezone(ZoneInfo(zone)).utcoffset()
    return before != instant.astimezone(ZoneInfo(zone)).utcoffset()


def _near_transition(instant: datetime, zone: str) -> bool:
    """Within a few hours of a DST change the wall-clock reading is ambiguous or skipped; the
    explicit tests above pin the behaviour there."""
    tz = ZoneInfo(zone)
    offsets = {(instant + timedelta(hours=h)).astimezone(tz).utcoffset() for h in range(-4, 5)}
    return len(offsets) > 1
