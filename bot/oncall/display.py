"""How on-call times and people read in a reply: instants in the reader's own zone, people as mentions.

Replies go to one person, so Switchman formats times in that person's Slack time zone itself
("Mon 23 Nov 10:00 CET"); channel posts use Slack's `<!date>` tokens instead, which every
reader sees in their own zone.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

NOBODY = "_nobody_"


def zone_or_utc(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(instant: datetime, zone: str) -> str:
    """`instant` on the wall clock of `zone`, e.g. "Mon 23 Nov 10:00 CET"."""
    local = instant.astimezone(zone_or_utc(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()}"


def local_span(start: datetime, end: datetime, zone: str) -> str:
    """"Mon 23 Nov 10:00 CET → Mon 30 Nov 10:00 CET"."""
    return f"{local_time(start, zone)} → {local_time(end, zone)}"


def mention(user: str | None) -> str:
    return f"<@{user}>" if user else NOBODY


def hours(value: float) -> str:
    """Whole hours when whole, else one decimal: "168 h", "23.5 h"."""
    return f"{value:.0f} h" if abs(value - round(value)) < 0.05 else f"{value:.1f} h"
