"""Fairness weighting: an on-call hour outside the person's own business hours counts for more."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.oncall.shifts import Shift
from bot.wall_clock import ensure_utc, resolve_wall_clock, wall_clock

OFF_HOURS_WEIGHT = 1.5


def weighted_hours(
    shift: Shift,
    person_tz: str,
    business: tuple[int, int] = (9, 17),
    *,
    off_hours_weight: float = OFF_HOURS_WEIGHT,
) -> float:
    """Hours of `shift`, off-hours counted `off_hours_weight` times.

    Business hours are [business[0]:00, business[1]:00) on Monday to Friday on the wall clock of
    `person_tz`; everything else, weekends included, is off-hours. Hours are real elapsed time,
    so a business day shortened or lengthened by a clock change counts what it really lasted.
    """
    opens, closes = business
    if not 0 <= opens < closes <= 24:
        raise ValueError(f"business hours must satisfy 0 <= start < end <= 24, got {business!r}")
    try:
        zone = ZoneInfo(person_tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {person_tz!r}: use an IANA name like Europe/Berlin") from exc
    start, end = ensure_utc(shift.start, "shift start"), ensure_utc(shift.end, "shift end")
    business_time = timedelta()
    day = wall_clock(start, zone).date()
    while day <= wall_clock(end, zone).date():
        if day.weekday() < 5:
            midnight = datetime.combine(day, time())
            window_start = resolve_wall_clock(midnight + timedelta(hours=opens), zone)
            window_end = resolve_wall_clock(midnight + timedelta(hours=closes), zone)
            overlap = min(end, window_end) - max(start, window_start)
            business_time += max(overlap, timedelta())
        day += timedelta(days=1)
    business_hours = business_time.total_seconds() / 3600
    total_hours = (end - start).total_seconds() / 3600
    return business_hours + (total_hours - business_hours) * off_hours_weight
