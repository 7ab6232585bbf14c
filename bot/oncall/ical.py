"""A rotation's schedule as an iCalendar (RFC 5545) document, written by hand.

One VEVENT per shift and role (so a person's calendar app can show "Primary: ops1" and
"Shadow: dev1" as separate entries), each with a UID stable for that shift start and role, so
a client polling the feed updates events in place. Times are UTC (`…Z`); text is escaped
(§3.3.11), lines end in CRLF and are folded at 75 octets without splitting a UTF-8 character
(§3.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from bot.oncall.shifts import Shift

PRODID = "-//Switchman//On-call schedule//EN"
LINE_OCTETS = 75


def escape_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def utc_stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """One content line, folded: every physical line at most 75 octets, continuations start with a space."""
    encoded = line.encode()
    if len(encoded) <= LINE_OCTETS:
        return line
    parts: list[str] = []
    limit = LINE_OCTETS
    while encoded:
        cut = min(limit, len(encoded))
        while cut < len(encoded) and (encoded[cut] & 0xC0) == 0x80:  # never inside a UTF-8 sequence
            cut -= 1
        parts.append(encoded[:cut].decode())
        encoded = encoded[cut:]
        limit = LINE_OCTETS - 1  # the leading space of a continuation counts
    return "\r\n ".join(parts)


def calendar(rotation: str, shifts: Sequence[Shift], names: Mapping[str, str], *, now: datetime) -> str:
    """The feed: `names` maps user ids to display names (ids not in it are shown as they are)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape_text(f'On call: {rotation}')}"]
    stamp = utc_stamp(now)
    for shift in shifts:
        for role, person, partner_role, partner in (("Primary", shift.primary, "Shadow", shift.shadow),
                                                    ("Shadow", shift.shadow, "Primary", shift.primary)):
            if person is None:
                continue
            name = names.get(person, person)
            other = names.get(partner, partner) if partner else "nobody"
            description = f"{rotation}: {role} {name}, {partner_role} {other}."
            if shift.dst_change:
                description += f" The clocks change during this shift: it lasts {shift.hours:g} h."
            lines += [
                "BEGIN:VEVENT",
                f"UID:{rotation}-{utc_stamp(shift.start)}-{role.lower()}@switchman",
                f"DTSTAMP:{stamp}",
                f"DTSTART:{utc_stamp(shift.start)}",
                f"DTEND:{utc_stamp(shift.end)}",
                f"SUMMARY:{escape_text(f'{role}: {name}')}",
                f"DESCRIPTION:{escape_text(description)}",
                "TRANSP:TRANSPARENT",
                "END:VEVENT",
            ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
