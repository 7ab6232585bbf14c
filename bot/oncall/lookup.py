"""Small lookups every `/oncall` sub-command shares: a rotation by name, a person's role, local days."""

from __future__ import annotations

from datetime import date, datetime, time

from bot.commands import oncall as grammar
from bot.commands.suggest import did_you_mean
from bot.config.models import Rotation, SwitchmanConfig
from bot.errors import BadInput
from bot.oncall.display import zone_or_utc
from bot.oncall.shifts import Role, Shift
from bot.wall_clock import resolve_wall_clock


def rotation_named(config: SwitchmanConfig, name: str) -> Rotation:
    if name not in config.rotations:
        known = ", ".join(f"`{n}`" for n in config.rotations) or "none are configured"
        # `/oncall schedul` reads as a rotation name: a mistyped sub-command is the likelier meaning then.
        hint = did_you_mean(name, config.rotations) or did_you_mean(name, grammar.SUBCOMMANDS, prefix="/oncall ")
        raise BadInput(f"there is no rotation called `{name}`{hint} (rotations: {known})", usage=grammar.USAGE)
    return config.rotations[name]


def day_start(day: date, zone: str) -> datetime:
    """The instant `day` begins on the wall clock of `zone` (DST-safe)."""
    return resolve_wall_clock(datetime.combine(day, time()), zone_or_utc(zone))


def role_in(shift: Shift, person: str) -> Role | None:
    if shift.primary == person:
        return "primary"
    if shift.shadow == person:
        return "shadow"
    return None


def holder(shift: Shift, role: Role) -> str | None:
    return shift.primary if role == "primary" else shift.shadow


def people_in_role(rotation: Rotation, role: Role) -> list[str]:
    return list(rotation.primaries if role == "primary" else rotation.shadows)


def member_of(rotation: Rotation, person: str) -> bool:
    return person in rotation.primaries or person in rotation.shadows
