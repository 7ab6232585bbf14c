"""Freeze (blackout) windows: `Fri 16:00-Mon 08:00 Europe/Berlin` or dated `2026-12-24 00:00-2026-12-27 00:00 UTC`.

Weekly windows recur in the zone's wall-clock time, so a window that starts at 16:00 local
starts at 16:00 local on both sides of a DST change. A window may wrap past the end of the
week (Fri → Mon). DST edges follow `bot.wall_clock`, as everywhere else in Switchman.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.wall_clock import resolve_wall_clock

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
USAGE = (
    "a weekly window like 'Fri 16:00-Mon 08:00 Europe/Berlin' or a dated one like "
    "'2026-12-24 00:00-2026-12-27 00:00 UTC' (an IANA time zone is required)"
)
_WEEKLY = re.compile(r"(?i)^\s*([a-z]{3})[a-z]*\s+(\d{1,2}:\d{2})\s*-\s*([a-z]{3})[a-z]*\s+(\d{1,2}:\d{2})\s+(\S+)\s*$")
_DATED = re.compile(
    r"^\s*(\d{4}-\d{2}-\d{2})\s+(\d{1,2}:\d{2})\s*-\s*(\d{4}-\d{2}-\d{2})\s+(\d{1,2}:\d{2})\s+(\S+)\s*$"
)


class FreezeWindowError(ValueError):
    pass


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    return resolve_wall_clock(datetime.combine(day, at), zone)


@dataclass(frozen=True)
class FreezeWindow:
    text: str
    zone: ZoneInfo
    # weekly: (weekday, time) pairs; dated: (date, time) pairs
    start_day: int | date
    start_time: time
    end_day: int | date
    end_time: time

    @property
    def weekly(self) -> bool:
        return isinstance(self.start_day, int)

    def active_span(self, instant: datetime) -> tuple[datetime, datetime] | None:
        """The (start, end) in UTC of this window's occurrence containing `instant`, if any."""
        if not self.weekly:
            assert isinstance(self.start_day, date) and isinstance(self.end_day, date)
            start = local_instant(self.start_day, self.start_time, self.zone)
            end = local_instant(self.end_day, self.end_time, self.zone)
            return (start, end) if start <= instant < end else None
        assert isinstance(self.start_day, int) and isinstance(self.end_day, int)
        local_today = instant.astimezone(self.zone).date()
        # An occurrence lasts under 8 days; look at the ones starting in the last 8 days.
        for back in range(0, 9):
            day = local_today - timedelta(days=back)
            if day.weekday() != self.start_day:
                continue
            start = local_instant(day, self.start_time, self.zone)
            span_days = (self.end_day - self.start_day) % 7
            if span_days == 0 and self.end_time <= self.start_time:
                span_days = 7
            end = local_instant(day + timedelta(days=span_days), self.end_time, self.zone)
            if start <= instant < end:
                return start, end
        return None


def parse_freeze_window(text: str) -> FreezeWindow:
    if not isinstance(text, str):
        raise FreezeWindowError(f"expected {USAGE}; got {text!r}")
    weekly = _WEEKLY.match(text)
    dated = _DATED.match(text)
    if weekly:
        d1, t1, d2, t2, zone_name = weekly.groups()
        start_day: int | date = _weekday(d1, text)
        end_day: int | date = _weekday(d2, text)
    elif dated:
        d1, t1, d2, t2, zone_name = dated.groups()
        start_day, end_day = _date(d1, text), _date(d2, text)
    else:
        raise FreezeWindowError(f"{text!r} is not a freeze window; expected {USAGE}")
    zone = _zone(zone_name, text)
    window = FreezeWindow(text, zone, start_day, _time(t1, text), end_day, _time(t2, text))
    if not window.weekly:
        assert isinstance(start_day, date) and isinstance(end_day, date)
        if datetime.combine(end_day, window.end_time) <= datetime.combine(start_day, window.start_time):
            raise FreezeWindowError(f"{text!r} ends before it starts")
    return window


def _weekday(name: str, text: str) -> int:
    key = name[:3].lower()
    if key not in DAYS:
        raise FreezeWindowError(f"{text!r}: {name!r} is not a day of the week (Mon, Tue, ... Sun)")
    return DAYS.index(key)


def _date(value: str, text: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FreezeWindowError(f"{text!r}: {value!r} is not a date (YYYY-MM-DD)") from None


def _time(value: str, text: str) -> time:
    hours, minutes = (int(p) for p in value.split(":"))
    if hours > 23 or minutes > 59:
        raise FreezeWindowError(f"{text!r}: {value!r} is not a time of day (00:00 to 23:59)")
    return time(hours, minutes)


def _zone(name: str, text: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FreezeWindowError(f"{text!r}: {name!r} is not an IANA time zone (e.g. Europe/Berlin, UTC)") from None
