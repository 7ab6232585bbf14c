"""Wall-clock time in IANA zones, and the one rule Switchman applies at DST changes.

Rules people write (handoffs, freeze windows) name local times; Switchman stores UTC instants.
A local time that does not exist (spring-forward gap) is taken at the first instant after the
gap, one that happens twice (fall-back) at its first occurrence. Every module that turns a local
time into an instant goes through `resolve_wall_clock`, so they all agree at the edges.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def ensure_utc(value: datetime, what: str) -> datetime:
    """`value` as an aware UTC datetime; naive datetimes are refused, not guessed at."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    """What clocks in `zone` read at `instant`, as a naive datetime."""
    return instant.astimezone(zone).replace(tzinfo=None)


def resolve_wall_clock(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which clocks in `zone` read the naive `local`.

    Twice-occurring times give the first occurrence; non-existent times (a gap) give the first
    instant after the gap, i.e. the moment the clocks jump.
    """
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if wall_clock(first, zone) == local:
        return first
    other = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    # In a gap the two folds read the time with the offsets before and after the jump, so the
    # jump lies between them: bisect over whole seconds (tzdb transitions are whole seconds).
    lo, hi = min(first, other), max(first, other)
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=(hi - lo).total_seconds() // 2)
        if wall_clock(mid, zone) < local:
            lo = mid
        else:
            hi = mid
    return hi
