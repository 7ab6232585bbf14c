"""Hypothesis strategies and an independent wall-clock oracle shared by the on-call tests."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume
from hypothesis import strategies as st

from bot.oncall.handoff_rule import WEEKDAYS, Every, HandoffRule

EVERY: tuple[Every, ...] = ("hour", "day", "week", "month")

NAMED_ZONES = (
    "Europe/Berlin",
    "America/Chicago",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
    "America/St_Johns",
    "Europe/London",
)
# Long enough to cross DST seasons many times, short enough to keep the suite quick.
MAX_WINDOW = {
    "hour": timedelta(days=30),
    "day": timedelta(days=3 * 366),
    "week": timedelta(days=8 * 366),
    "month": timedelta(days=20 * 366),
}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def offset(instant: datetime, zone: ZoneInfo) -> timedelta:
    found = instant.astimezone(zone).utcoffset()
    assert found is not None
    return found


any_zone = st.timezones().map(lambda zone: zone.key)
zone_names = st.one_of(st.sampled_from(NAMED_ZONES), any_zone)
instants = st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2045, 1, 1), timezones=st.just(UTC))


@st.composite
def rules(draw: st.DrawFn, zone: st.SearchStrategy[str] = zone_names) -> HandoffRule:
    every = draw(st.sampled_from(EVERY))
    # Half the rules hand off in the small hours, where clocks usually change.
    hour = draw(st.one_of(st.integers(0, 23), st.integers(0, 3)))
    minute = draw(st.one_of(st.sampled_from([0, 15, 30, 45]), st.integers(0, 59)))
    day: str | int | None = None
    if every == "week":
        day = draw(st.sampled_from(WEEKDAYS))
    elif every == "month":
        day = draw(st.integers(1, 31))
    return HandoffRule(
        every=every,
        timezone=draw(zone),
        at=f"{hour:02d}:{minute:02d}",
        day=day,
        interval=draw(st.integers(1, 3)),
        anchor=draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))),
    )


@st.composite
def rules_and_windows(
    draw: st.DrawFn, zone: st.SearchStrategy[str] = zone_names
) -> tuple[HandoffRule, datetime, datetime]:
    rule = draw(rules(zone))
    start = draw(instants)
    length = MAX_WINDOW[rule.every] * draw(st.floats(0.002, 1.0))
    return rule, start, start + length


def local(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def oracle_resolve(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose local reading is at or after `wall`, found without zoneinfo's folds."""
    as_utc = wall.replace(tzinfo=UTC)
    nearby = {
        local(as_utc + timedelta(hours=h), zone) - (as_utc + timedelta(hours=h)).replace(tzinfo=None)
        for h in range(-15, 16, 5)
    }
    candidates = sorted(as_utc - offset for offset in nearby)
    exact = [c for c in candidates if local(c, zone) == wall]
    if exact:
        return exact[0]
    # A gap: walk forward to the first instant reading at or after `wall`, by minutes then seconds.
    instant = candidates[0]
    assert local(instant, zone) < wall
    while local(instant + timedelta(minutes=1), zone) < wall:
        instant += timedelta(minutes=1)
    while local(instant, zone) < wall:
        instant += timedelta(seconds=1)
    return instant


def oracle_walls(rule: HandoffRule, start: datetime, end: datetime) -> list[datetime]:
    """Every wall-clock time the rule names in the local days around [start, end), by brute force."""
    zone = ZoneInfo(rule.timezone)
    hour, minute = (int(part or 0) for part in rule.at.split(":"))
    first, last = local(start, zone).date() - timedelta(days=3), local(end, zone).date() + timedelta(days=3)
    walls: list[datetime] = []
    day = first
    while day <= last:
        midnight = datetime(day.year, day.month, day.day)
        if rule.every == "hour":
            origin = datetime(rule.anchor.year, rule.anchor.month, rule.anchor.day, hour, minute)
            for h in range(24):
                wall = midnight + timedelta(hours=h, minutes=minute)
                if (wall - origin) // timedelta(hours=1) % rule.interval == 0:
                    walls.append(wall)
        elif rule.every == "day":
            if (day - rule.anchor).days % rule.interval == 0:
                walls.append(midnight.replace(hour=hour, minute=minute))
        elif rule.every == "week":
            due = WEEKDAYS.index(str(rule.day)) == day.weekday()
            if due and (day - rule.anchor).days // 7 % rule.interval == 0:
                walls.append(midnight.replace(hour=hour, minute=minute))
        else:
            months = (day.year - rule.anchor.year) * 12 + day.month - rule.anchor.month
            next_day = day + timedelta(days=1)
            target = int(str(rule.day))
            is_day = day.day == target or (day.day < target and next_day.month != day.month)
            if months % rule.interval == 0 and is_day:
                walls.append(midnight.replace(hour=hour, minute=minute))
        day += timedelta(days=1)
    return walls


def oracle_handoffs(rule: HandoffRule, start: datetime, end: datetime) -> list[datetime]:
    zone = ZoneInfo(rule.timezone)
    instants = sorted({oracle_resolve(wall, zone) for wall in oracle_walls(rule, start, end)})
    return [instant for instant in instants if start <= instant < end]


# --- clock changes, to aim rules straight into gaps and folds ----------------------------------

CHANGING_ZONES = (
    "Europe/Berlin",
    "America/Chicago",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "Europe/London",
    "Europe/Dublin",  # negative DST in tzdb: "winter time" is the saving
    "America/Santiago",
    "America/Havana",
    "Africa/Casablanca",
    "Antarctica/Troll",  # two-hour change
    "Asia/Jerusalem",
    "Australia/Adelaide",
    "America/Sao_Paulo",  # midnight changes until 2019
    "Pacific/Apia",  # skipped 2011-12-30 entirely
)

changing_zones = st.one_of(st.sampled_from(CHANGING_ZONES), any_zone)


@functools.cache
def clock_changes(zone_key: str, year: int) -> tuple[tuple[datetime, timedelta, timedelta], ...]:
    """(instant, offset before, offset after) of each offset change in `year`, at least 2 days apart."""
    zone = ZoneInfo(zone_key)
    found: list[tuple[datetime, timedelta, timedelta]] = []
    instant, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    before = offset(instant, zone)
    while instant < end:
        later = instant + timedelta(days=1)
        after = offset(later, zone)
        if after != before:
            lo, hi = instant, later
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if offset(mid, zone) == before else (lo, mid)
            found.append((hi.replace(microsecond=0), before, after))
        instant, before = later, after
    quiet = timedelta(days=2)
    return tuple(
        (at, old, new) for at, old, new in found if offset(at - quiet, zone) == old and offset(at + quiet, zone) == new
    )


@st.composite
def rules_aimed_at_a_clock_change(draw: st.DrawFn) -> tuple[HandoffRule, datetime, datetime]:
    """A rule whose handoff falls inside a gap or a fold, and the instant it must resolve to."""
    zone = draw(changing_zones)
    changes = clock_changes(zone, draw(st.integers(1996, 2040)))
    assume(changes)
    at, old, new = draw(st.sampled_from(changes))
    jump_minutes = abs(int((new - old).total_seconds()) // 60)
    assume(jump_minutes >= 1)
    lowest = (at + min(old, new)).replace(tzinfo=None)
    assume(lowest.second == 0)
    wall = lowest + timedelta(minutes=draw(st.integers(0, jump_minutes - 1)))
    every = draw(st.sampled_from(EVERY))
    day: str | int | None = None
    if every == "week":
        day = WEEKDAYS[wall.weekday()]
    elif every == "month":
        day = wall.day
    rule = HandoffRule(
        every=every,
        timezone=zone,
        at=f"{wall:%H:%M}",
        day=day,
        interval=1 if every == "hour" else draw(st.integers(1, 3)),
        anchor=wall.date(),
    )
    # spring forward: the first instant after the gap; fall back: the first occurrence
    expected = at if new > old else wall.replace(tzinfo=UTC) - old
    return rule, wall, expected
