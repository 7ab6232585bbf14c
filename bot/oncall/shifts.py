"""On-call shifts of a shadow rotation: who is primary and who shadows, from a handoff rule.

Pure: dataclasses in, dataclasses out, every datetime aware UTC. Who is due in a shift depends
only on the shift's index counted from the rule's anchor (see `pairing`), so the same instant
gets the same people whatever window is asked for. Absences then pass the role down the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import Literal, get_args

from bot.oncall.handoff_rule import HandoffRule, Slot
from bot.oncall.pairing import due_positions, first_eligible
from bot.wall_clock import ensure_utc

Role = Literal["primary", "shadow"]


@dataclass(frozen=True)
class Absence:
    """`person` cannot hold any role in a shift overlapping [start, end)."""

    person: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start, end = ensure_utc(self.start, "absence start"), ensure_utc(self.end, "absence end")
        if end <= start:
            raise ValueError(f"absence of {self.person} ends ({end.isoformat()}) before it starts")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Shift:
    """[start, end) with its people; None in a role is a visible gap in coverage.

    `hours` is the real elapsed length. `dst_change` is True when the shift's real length differs
    from the rule's wall-clock length (a 23 h day, a 167 h week, Lord Howe's 30 minutes) or the
    zone's UTC offset differs between its ends (the clocks changed during it).
    """

    index: int
    start: datetime
    end: datetime
    primary: str | None
    shadow: str | None
    hours: float
    dst_change: bool


def generate_shifts(
    rule: HandoffRule,
    primaries: Sequence[str],
    shadows: Sequence[str],
    start: datetime,
    end: datetime,
    absences: Sequence[Absence] = (),
) -> list[Shift]:
    """The shifts tiling [start, end): the first contains `start`, the last contains end - ε."""
    start, end = ensure_utc(start, "start"), ensure_utc(end, "end")
    if end < start:
        raise ValueError(f"end {end.isoformat()} is before start {start.isoformat()}")
    shifts: list[Shift] = []
    if end == start:
        return shifts
    for slot in rule.slots(start):
        if slot.start >= end:
            break
        shifts.append(_staff(rule, slot, primaries, shadows, absences))
    return shifts


def _staff(
    rule: HandoffRule,
    slot: Slot,
    primaries: Sequence[str],
    shadows: Sequence[str],
    absences: Sequence[Absence],
) -> Shift:
    away = {a.person for a in absences if a.overlaps(slot.start, slot.end)}
    due_primary, due_shadow = due_positions(slot.index, len(primaries), len(shadows))
    primary = first_eligible(primaries, due_primary, lambda person: person not in away)
    shadow = first_eligible(shadows, due_shadow, lambda person: person not in away and person != primary)
    elapsed = slot.end - slot.start
    offsets_differ = slot.start.astimezone(rule.zone).utcoffset() != slot.end.astimezone(rule.zone).utcoffset()
    return Shift(
        index=slot.index,
        start=slot.start,
        end=slot.end,
        primary=primary,
        shadow=shadow,
        hours=elapsed.total_seconds() / 3600,
        dst_change=offsets_differ or elapsed != slot.wall_end - slot.wall_start,
    )


@dataclass(frozen=True)
class Override:
    """`person` takes `role` for [start, end), whoever the rotation had there."""

    start: datetime
    end: datetime
    role: Role
    person: str

    def __post_init__(self) -> None:
        start, end = ensure_utc(self.start, "override start"), ensure_utc(self.end, "override end")
        if end <= start:
            raise ValueError(f"override for {self.person} ends ({end.isoformat()}) before it starts")
        if self.role not in get_args(Role):
            raise ValueError(f"override role must be primary or shadow, got {self.role!r}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)


def apply_overrides(shifts: Sequence[Shift], overrides: Sequence[Override]) -> list[Shift]:
    """`shifts` with the overrides applied, cut at override boundaries so they still tile.

    Where overrides overlap, the later one in `overrides` wins. A piece keeps the index and
    `dst_change` of the shift it was cut from; neighbouring pieces of one shift that end up with
    the same people are joined again. Raises ValueError if anyone would hold both roles at once
    (to swap roles, override both in the same call).
    """
    result: list[Shift] = []
    for shift in shifts:
        relevant = [o for o in overrides if o.start < shift.end and shift.start < o.end]
        if not relevant:
            result.append(shift)
            continue
        inner = {t for o in relevant for t in (o.start, o.end) if shift.start < t < shift.end}
        cuts = sorted({shift.start, shift.end} | inner)
        pieces: list[Shift] = []
        for piece_start, piece_end in pairwise(cuts):
            people: dict[Role, str | None] = {"primary": shift.primary, "shadow": shift.shadow}
            for override in relevant:
                if override.start <= piece_start and piece_end <= override.end:
                    people[override.role] = override.person
            primary, shadow = people["primary"], people["shadow"]
            if primary is not None and primary == shadow:
                raise ValueError(
                    f"overrides would make {primary} both primary and shadow from {piece_start.isoformat()} "
                    f"to {piece_end.isoformat()} (shift {shift.index}); override the other role too"
                )
            if pieces and (pieces[-1].primary, pieces[-1].shadow) == (primary, shadow):
                pieces[-1] = _resized(pieces[-1], pieces[-1].start, piece_end)
            else:
                piece = replace(shift, primary=primary, shadow=shadow)
                pieces.append(_resized(piece, piece_start, piece_end))
        result.extend(pieces)
    return result


def _resized(shift: Shift, start: datetime, end: datetime) -> Shift:
    return replace(shift, start=start, end=end, hours=(end - start).total_seconds() / 3600)
