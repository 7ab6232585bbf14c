"""Slack's `<!date^STAMP^FORMAT|fallback>` as the console shows it: in the viewer's own zone, the zone named.

Slack renders the token in each reader's zone; the console has one reader per line (the person a DM or
ephemeral is for, else whoever is at the console), set with `viewing_in`. Times carry the zone's name
("Mon 23 Nov 10:00 CET"), as replies do; a token the console cannot read shows its fallback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from bot.oncall.display import zone_or_utc

VIEWER_ZONE: ContextVar[str] = ContextVar("viewer_zone", default="UTC")
_FORMAT_TOKEN = re.compile(r"\{(\w+)\}")


@contextmanager
def viewing_in(zone: str) -> Iterator[None]:
    reset = VIEWER_ZONE.set(zone)
    try:
        yield
    finally:
        VIEWER_ZONE.reset(reset)


def _pieces(local: datetime) -> dict[str, str]:
    zone = local.tzname() or "UTC"
    return {
        "date_num": f"{local:%Y-%m-%d}",
        "date_slash": f"{local:%d/%m/%Y}",
        "date": f"{local.day} {local:%B %Y}",
        "date_pretty": f"{local.day} {local:%B %Y}",
        "date_short": f"{local:%a} {local.day} {local:%b}",
        "date_short_pretty": f"{local:%a} {local.day} {local:%b}",
        "date_long": f"{local:%A}, {local.day} {local:%B %Y}",
        "date_long_pretty": f"{local:%A}, {local.day} {local:%B %Y}",
        "date_long_full": f"{local.day} {local:%B %Y}",
        "day_divider_pretty": f"{local:%A}, {local.day} {local:%B}",
        "time": f"{local:%H:%M} {zone}",
        "time_secs": f"{local:%H:%M:%S} {zone}",
    }


def render_date(command: str, fallback: str) -> str:
    """`command` is the token's inside before `|`: `date^1794996000^{date_short_pretty} {time}[^link]`."""
    parts = command.split("^")
    if len(parts) < 3 or not parts[1].lstrip("-").isdigit():
        return fallback or command
    try:
        instant = datetime.fromtimestamp(int(parts[1]), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return fallback or command
    pieces = _pieces(instant.astimezone(zone_or_utc(VIEWER_ZONE.get())))
    return _FORMAT_TOKEN.sub(lambda m: pieces.get(m.group(1), m.group(0)), parts[2])
