"""Off-hours weighting: business hours count once, the rest 1.5 times, on the person's own clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.oncall.fairness import weighted_hours
from bot.oncall.shifts import Shift

from .strategies import instants, utc, zone_names


def shift(start: datetime, end: datetime) -> Shift:
    return Shift(
        index=0,
        start=start,
        end=end,
        primary="ana",
        shadow=None,
        hours=(end - start).total_seconds() / 3600,
        dst_change=False,
    )


def test_a_business_day_counts_once() -> None:
    # Monday 2026-03-02, 09:00-17:00 in Berlin is 08:00-16:00 UTC
    assert weighted_hours(shift(utc(2026, 3, 2, 8), utc(2026, 3, 2, 16)), "Europe/Berlin") == 8.0


def test_weekend_and_night_count_one_and_a_half_times() -> None:
    assert weighted_hours(shift(utc(2026, 3, 7, 8), utc(2026, 3, 7, 16)), "Europe/Berlin") == 12.0
    assert weighted_hours(shift(utc(2026, 3, 2, 20), utc(2026, 3, 3, 4)), "Europe/Berlin") == 12.0


def test_a_plain_week_is_40_business_hours_and_128_off_hours() -> None:
    week = shift(utc(2026, 2, 2, 9), utc(2026, 2, 9, 9))  # Monday 10:00 to Monday 10:00 Berlin
    assert weighted_hours(week, "Europe/Berlin") == 40 + 128 * 1.5


def test_the_167_hour_spring_week_loses_an_off_hour() -> None:
    week = shift(utc(2026, 3, 23, 9), utc(2026, 3, 30, 8))
    assert week.hours == 167
    assert weighted_hours(week, "Europe/Berlin") == 40 + 127 * 1.5


def test_business_hours_follow_the_persons_zone_not_the_rotations() -> None:
    # 09:00-17:00 UTC on a Monday; Kolkata's 09:00-17:00 is 03:30-11:30 UTC, so 2.5 h overlap
    monday = shift(utc(2026, 3, 2, 9), utc(2026, 3, 2, 17))
    assert weighted_hours(monday, "Asia/Kolkata") == 2.5 + 5.5 * 1.5
    assert weighted_hours(monday, "UTC", business=(0, 24)) == 8.0
    assert weighted_hours(monday, "UTC", off_hours_weight=2.0, business=(12, 13)) == 1 + 7 * 2.0


@pytest.mark.parametrize(("business", "zone"), [((17, 9), "UTC"), ((9, 25), "UTC"), ((9, 17), "Nowhere/City")])
def test_bad_business_hours_or_zone_are_refused(business: tuple[int, int], zone: str) -> None:
    with pytest.raises(ValueError):
        weighted_hours(shift(utc(2026, 3, 2, 9), utc(2026, 3, 2, 17)), zone, business)


@settings(max_examples=80, deadline=None)
@given(instants, st.floats(0.01, 400), st.floats(0, 1), zone_names)
def test_weighting_is_bounded_and_additive(start: datetime, hours: float, cut: float, zone: str) -> None:
    end = (start + timedelta(hours=hours)).replace(microsecond=0)
    middle = (start + (end - start) * cut).replace(microsecond=0)
    whole = weighted_hours(shift(start, end), zone)
    total = (end - start).total_seconds() / 3600
    assert total - 1e-9 <= whole <= 1.5 * total + 1e-9
    if start < middle < end:
        halves = weighted_hours(shift(start, middle), zone) + weighted_hours(shift(middle, end), zone)
        assert halves == pytest.approx(whole, abs=1e-6)
