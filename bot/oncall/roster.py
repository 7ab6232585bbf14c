"""Who is on call: a rotation's configured rule turned into shifts, with what people changed layered on.

This is the single place other domains (the `oncall_present` gate, the App Home, paging) ask
"who carries the pager now?" (`current_shift`) or "who will?" (`schedule`). The rule and the
configured lists say who is due; absences declared with `/oncall away` pass a role down the
list; approved swaps and covers (overrides) replace a person for a stretch. Both live in the
database, so every replica and every restart answers the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol, cast

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.models import Rotation, SwitchmanConfig
from bot.oncall.handoff_rule import HandoffRule
from bot.oncall.schedule_models import AbsenceRecord, ScheduleOverride
from bot.oncall.shifts import Absence, Override, Role, Shift, apply_overrides, generate_shifts
from bot.storage.database import Database
from bot.wall_clock import ensure_utc

log = logging.getLogger(__name__)
TICK = timedelta(seconds=1)


class RosterSource(Protocol):
    """What the roster needs: the configuration and the database (an AppContext, or a gate's deps)."""

    @property
    def config(self) -> SwitchmanConfig: ...

    @property
    def db(self) -> Database: ...


def handoff_rule(rotation: Rotation) -> HandoffRule:
    handoff = rotation.handoff
    return HandoffRule(every=handoff.every, timezone=rotation.timezone, at=handoff.at, day=handoff.day,
                       interval=handoff.interval)


def shift_at(rotation: Rotation, instant: datetime) -> Shift | None:
    """The configured shift containing `instant`, without absences or overrides."""
    shifts = generate_shifts(handoff_rule(rotation), rotation.primaries, rotation.shadows, instant, instant + TICK)
    return next((s for s in shifts if s.start <= instant < s.end), None)


def upcoming_shifts(rotation: Rotation, start: datetime, end: datetime) -> list[Shift]:
    """The configured shifts over [start, end), without absences or overrides."""
    return generate_shifts(handoff_rule(rotation), rotation.primaries, rotation.shadows, start, end)


def effective_shifts(rotation: Rotation, start: datetime, end: datetime, *, absences: Sequence[Absence] = (),
                     overrides: Sequence[Override] = ()) -> list[Shift]:
    """Pieces tiling [start, end) (the first contains `start`): the rule, then absences, then overrides.

    Overrides apply in order, the later winning where they overlap. One that would make somebody
    primary and shadow at once is left out (and logged) instead of failing the whole roster: an
    absence or a config change may have moved people since it was approved.
    """
    start, end = ensure_utc(start, "start"), ensure_utc(end, "end")
    shifts = generate_shifts(handoff_rule(rotation), rotation.primaries, rotation.shadows, start, end, absences)
    return [s for s in overlay(shifts, overrides) if s.end > start and s.start < end]


def overlay(shifts: Sequence[Shift], overrides: Sequence[Override]) -> list[Shift]:
    try:
        return apply_overrides(shifts, overrides)
    except ValueError:
        pass
    result = list(shifts)
    for override in overrides:
        try:
            result = apply_overrides(result, [override])
        except ValueError as exc:
            log.warning("override left out: it would give one person both roles", extra={"error": str(exc)})
    return _joined(result)


def _joined(shifts: list[Shift]) -> list[Shift]:
    """Neighbouring pieces of one shift with the same people, joined again."""
    out: list[Shift] = []
    for shift in shifts:
        last = out[-1] if out else None
        if (last is not None and last.index == shift.index and last.end == shift.start
                and (last.primary, last.shadow) == (shift.primary, shift.shadow)):
            out[-1] = replace(last, end=shift.end, hours=(shift.end - last.start).total_seconds() / 3600)
        else:
            out.append(shift)
    return out


async def changes_in(session: AsyncSession, name: str, rotation: Rotation, start: datetime, end: datetime
                     ) -> tuple[list[Absence], list[Override]]:
    """The absences of the rotation's people and the rotation's overrides touching [start, end)."""
    people = sorted(set(rotation.primaries) | set(rotation.shadows))
    absence_rows = (await session.exec(
        select(AbsenceRecord).where(col(AbsenceRecord.person).in_(people), col(AbsenceRecord.start) < end,
                                    col(AbsenceRecord.end) > start).order_by(col(AbsenceRecord.id)))).all()
    override_rows = (await session.exec(
        select(ScheduleOverride).where(ScheduleOverride.rotation == name, col(ScheduleOverride.start) < end,
                                       col(ScheduleOverride.end) > start).order_by(col(ScheduleOverride.id)))).all()
    absences = [Absence(a.person, a.start, a.end) for a in absence_rows]
    overrides = [Override(o.start, o.end, cast(Role, o.role), o.person) for o in override_rows]
    return absences, overrides


async def schedule_in(session: AsyncSession, config: SwitchmanConfig, rotation: str, start: datetime,
                      end: datetime) -> list[Shift]:
    """`schedule` inside the caller's session (so a change and the roster it makes agree)."""
    rotation_cfg = config.rotations[rotation]
    base = upcoming_shifts(rotation_cfg, start, end)
    if not base:
        return []
    absences, overrides = await changes_in(session, rotation, rotation_cfg, base[0].start, base[-1].end)
    return effective_shifts(rotation_cfg, start, end, absences=absences, overrides=overrides)


async def schedules_in(session: AsyncSession, config: SwitchmanConfig, rotations: Sequence[str], start: datetime,
                       end: datetime) -> dict[str, list[Shift] | Exception]:
    """`schedule_in` for many rotations over one window with two queries in all (start-up planning).

    Each rotation gets exactly what `schedule_in` would give it, or the exception its rule raised.
    """
    bases: dict[str, list[Shift] | Exception] = {}
    for name in rotations:
        try:
            bases[name] = upcoming_shifts(config.rotations[name], start, end)
        except Exception as exc:  # one broken rule must not stop the others being planned
            bases[name] = exc
    windows = [(b[0].start, b[-1].end) for b in bases.values() if isinstance(b, list) and b]
    if not windows:
        return bases
    first, last = min(w[0] for w in windows), max(w[1] for w in windows)
    absence_rows = (await session.exec(select(AbsenceRecord).where(
        col(AbsenceRecord.start) < last, col(AbsenceRecord.end) > first).order_by(col(AbsenceRecord.id)))).all()
    override_rows = (await session.exec(select(ScheduleOverride).where(
        col(ScheduleOverride.start) < last, col(ScheduleOverride.end) > first)
        .order_by(col(ScheduleOverride.id)))).all()
    out: dict[str, list[Shift] | Exception] = {}
    for name, base in bases.items():
        if not isinstance(base, list) or not base:
            out[name] = base
            continue
        rotation_cfg = config.rotations[name]
        low, high = base[0].start, base[-1].end
        people = set(rotation_cfg.primaries) | set(rotation_cfg.shadows)
        absences = [Absence(a.person, a.start, a.end) for a in absence_rows
                    if a.person in people and a.start < high and a.end > low]
        overrides = [Override(o.start, o.end, cast(Role, o.role), o.person) for o in override_rows
                     if o.rotation == name and o.start < high and o.end > low]
        try:
            out[name] = effective_shifts(rotation_cfg, start, end, absences=absences, overrides=overrides)
        except Exception as exc:
            out[name] = exc
    return out


async def schedule(ctx: RosterSource, rotation: str, start: datetime, end: datetime) -> list[Shift]:
    """Who holds which role over [start, end), with absences, swaps and covers applied."""
    async with ctx.db.session() as session:
        return await schedule_in(session, ctx.config, rotation, start, end)


async def current_shift(ctx: RosterSource, rotation: str, at: datetime) -> Shift | None:
    """Who holds the pager in `rotation` at `at`: the one question every other domain asks."""
    pieces = await schedule(ctx, rotation, at, at + TICK)
    return next((s for s in pieces if s.start <= at < s.end), None)
