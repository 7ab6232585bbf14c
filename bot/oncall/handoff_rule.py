"""Wall-clock handoff rules: when, as UTC instants, a rotation's pager changes hands.

A rule names a local wall-clock time in the rotation's IANA zone ("every week, Monday 10:00
Europe/Berlin"). Handoffs stay at that local time across DST, so a shift may last 23 h or 25 h.
A local time that does not exist (spring-forward gap) is taken at the first instant after the
gap; one that happens twice (fall-back) is taken once, at its first occurrence (fold=0).

Handoffs are numbered from the rule's `anchor` (a local date): handoff `k` is the `k`-th step of
`interval` units after the first one on or after the anchor, so numbering, and with it who is on
call, does not depend on the window anyone asks about.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.wall_clock import ensure_utc, resolve_wall_clock, wall_clock

Every = Literal["hour", "day", "week", "month"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_ANCHOR = date(2024, 1, 1)
_AT = re.compile(r"^(\d{1,2})?:(\d{2})$")


@dataclass(frozen=True)
class Slot:
    """One stretch between consecutive handoffs, with the wall-clock times the rule intended."""

    index: int
    start: datetime  # aware UTC
    end: datetime  # aware UTC
    wall_start: datetime  # naive, the rule's zone; `start` reads this unless moved out of a gap
    wall_end: datetime


@dataclass(frozen=True)
class HandoffRule:
    """`every` N units at a local time. Fields mirror `handoff:` in switchman.yml.

    - week: `day` is a weekday name ("monday" or "mon", any case); `at` is "HH:MM".
    - month: `day` is a day of the month 1..31, clamped to the month's length; `at` is "HH:MM".
    - day: no `day`; `at` is "HH:MM".
    - hour: no `day`; `at` is ":MM" or "HH:MM". Handoffs fall every `interval` wall-clock hours
      counted from `at` on the anchor date, so with interval 1 only the minutes matter, and
      `every: hour, interval: 12, at: "08:00"` hands off at 08:00 and 20:00 local.
    - `anchor` fixes the phase of interval > 1 (the first handoff on or after it is number 0);
      for monthly rules only its year and month count.
    """

    every: Every
    timezone: str
    at: str = "00:00"
    day: str | int | None = None
    interval: int = 1
    anchor: date = DEFAULT_ANCHOR
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _base: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.every not in get_args(Every):
            raise ValueError(f"every must be one of {', '.join(get_args(Every))}, got {self.every!r}")
        if isinstance(self.interval, bool) or not isinstance(self.interval, int) or self.interval < 1:
            raise ValueError(f"interval must be a whole number >= 1, got {self.interval!r}")
        if isinstance(self.anchor, datetime) or not isinstance(self.anchor, date):
            raise ValueError(f"anchor must be a date, got {self.anchor!r}")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}: use an IANA name like Europe/Berlin") from exc
        hour, minute = self._parse_at()
        base_day = self.anchor
        if self.every == "week":
            base_day += timedelta(days=(self._weekday() - self.anchor.weekday()) % 7)
        elif self.every == "month":
            self._month_day()
            base_day = self.anchor.replace(day=1)
        elif self.day is not None:
            raise ValueError(f"day does not apply to a handoff every {self.every}")
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_base", datetime(base_day.year, base_day.month, base_day.day, hour, minute))

    def _parse_at(self) -> tuple[int, int]:
        match = _AT.match(self.at) if isinstance(self.at, str) else None
        needs = '":MM" or "HH:MM"' if self.every == "hour" else '"HH:MM"'
        if match is None or (match.group(1) is None and self.every != "hour"):
            raise ValueError(f"at must be {needs} for a handoff every {self.every}, got {self.at!r}")
        hour, minute = int(match.group(1) or 0), int(match.group(2))
        if hour > 23 or minute > 59:
            raise ValueError(f"at must be a time of day between 00:00 and 23:59, got {self.at!r}")
        return hour, minute

    def _weekday(self) -> int:
        name = self.day.lower() if isinstance(self.day, str) else ""
        for number, weekday in enumerate(WEEKDAYS):
            if len(name) >= 3 and weekday.startswith(name):
                return number
        raise ValueError(f"a weekly handoff needs day: one of {', '.join(WEEKDAYS)}, got {self.day!r}")

    def _month_day(self) -> int:
        if isinstance(self.day, bool) or not isinstance(self.day, int) or not 1 <= self.day <= 31:
            raise ValueError(f"a monthly handoff needs day: a day of the month 1..31, got {self.day!r}")
        return self.day

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def wall_time(self, index: int) -> datetime:
        """The naive local time handoff `index` is meant to happen at."""
        if self.every == "month":
            year, month0 = divmod(self._base.year * 12 + self._base.month - 1 + index * self.interval, 12)
            day = min(self._month_day(), calendar.monthrange(year, month0 + 1)[1])
            return self._base.replace(year=year, month=month0 + 1, day=day)
        return self._base + index * self._step()

    def _step(self) -> timedelta:
        unit = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
        return unit[self.every] * self.interval

    def _floor_index(self, local: datetime) -> int:
        """The largest index whose wall time is at or before the naive `local`."""
        if self.every != "month":
            return (local - self._base) // self._step()
        months = (local.year - self._base.year) * 12 + local.month - self._base.month
        index = months // self.interval
        return index - 1 if self.wall_time(index) > local else index

    def handoff_at(self, index: int) -> datetime:
        """The UTC instant of handoff `index` (gaps and folds resolved as the module says)."""
        return resolve_wall_clock(self.wall_time(index), self._zone)

    def index_at(self, instant: datetime) -> int:
        """The index of the handoff that started the shift containing `instant`."""
        instant = ensure_utc(instant, "instant")
        index = self._floor_index(wall_clock(instant, self._zone))
        while self.handoff_at(index) > instant:
            index -= 1
        while self.handoff_at(index + 1) <= instant:
            index += 1
        return index

    def slots(self, start: datetime) -> Iterator[Slot]:
        """Consecutive slots without end, the first one containing `start`.

        Where a gap swallows a whole slot (an hourly handoff inside the gap lands on the next
        one), that index yields no slot: its handoff coincides with the next and the later wins.
        """
        index = self.index_at(start)
        begin = self.handoff_at(index)
        following, following_at = index + 1, self.handoff_at(index + 1)
        while True:
            after_at = self.handoff_at(following + 1)
            if after_at == following_at:
                following += 1
                continue
            yield Slot(index, begin, following_at, self.wall_time(index), self.wall_time(following))
            index, begin = following, following_at
            following, following_at = following + 1, after_at

    def handoffs_between(self, start: datetime, end: datetime) -> list[datetime]:
        """UTC instants of the handoffs in [start, end), in order, each once."""
        start, end = ensure_utc(start, "start"), ensure_utc(end, "end")
        if end < start:
            raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
        found: list[datetime] = []
        for slot in self.slots(start):
            if slot.start >= end:
                return found
            if slot.start >= start:
                found.append(slot.start)
        raise AssertionError("unreachable: slots() never ends")

    def next_handoff_after(self, instant: datetime) -> datetime:
        """The first handoff strictly after `instant`."""
        return next(self.slots(instant)).end
