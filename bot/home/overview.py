"""The facts of one viewer's Home tab, gathered from the config, the database and the roster.

*The viewer's services* are the services they release or carry the pager for: a service is theirs
when they are in the `deployers` or `overriders` of one of its environments (by Slack id, or as a
member of a named user group), or a primary or shadow of a rotation that covers it (the service's
`rotation:`, or a rotation listing it under `services:`). Someone with no such service sees every
service, and the view says so. *In flight* means queued or not yet finished (§3's states before
done / failed / rolled back). The next shift is the earliest shift, in any role of any rotation,
that the viewer holds now or later within `SHIFT_HORIZON`, with absences, swaps and covers applied.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from sqlmodel import col, select

from bot.context import AppContext
from bot.oncall.lookup import member_of, role_in
from bot.oncall.roster import schedule
from bot.release.models import IN_FLIGHT, Release, ReleaseState

log = logging.getLogger(__name__)
SHIFT_HORIZON = timedelta(weeks=26)
SHIFT_STEP = timedelta(weeks=4)
MAX_IN_FLIGHT = 20
UNFINISHED = sorted(s.value for s in (*IN_FLIGHT, ReleaseState.QUEUED))


@dataclass(frozen=True)
class InFlight:
    id: int
    kind: str
    service: str
    environment: str
    ref: str
    state: str
    requested_by: str
    permalink: str | None


@dataclass(frozen=True)
class NextShift:
    rotation: str
    role: str
    start: datetime
    end: datetime
    partner: str | None
    now: bool  # on call at this very moment


@dataclass(frozen=True)
class HomeOverview:
    viewer: str
    services: tuple[str, ...]
    all_services: bool  # the viewer has none of their own: every service is shown
    in_flight: tuple[InFlight, ...]
    more_in_flight: int
    rotations: tuple[str, ...]  # the rotations the viewer is in
    next_shift: NextShift | None


async def viewer_services(ctx: AppContext, viewer: str) -> tuple[tuple[str, ...], bool]:
    """The viewer's services (sorted), and whether that fell back to every service."""
    config = ctx.config
    mine = set()
    for name in config.services:
        if any(member_of(config.rotations[r], viewer) for r in config.rotations_for_service(name)):
            mine.add(name)
    for name, service in config.services.items():
        if name in mine:
            continue
        refs = sorted({ref for env in service.environments.values() for ref in (*env.deployers, *env.overriders)})
        if viewer in refs:
            mine.add(name)
            continue
        try:
            if await ctx.directory.is_in_any(viewer, [r for r in refs if not r.startswith(("U", "W"))]):
                mine.add(name)
        except SlackApiError as exc:  # groups unknown for now: judge by the ids alone
            log.warning("could not read user groups for the Home tab", extra={"error": exc.response.get("error")})
    if mine:
        return tuple(sorted(mine)), False
    return tuple(sorted(config.services)), True


async def in_flight(ctx: AppContext, services: tuple[str, ...]) -> tuple[tuple[InFlight, ...], int]:
    """Unfinished releases of `services`, oldest first (at most MAX_IN_FLIGHT), and how many more there are."""
    if not services:
        return (), 0
    async with ctx.db.session() as session:
        rows = (await session.exec(select(Release).where(col(Release.service).in_(services),
                                                         col(Release.state).in_(UNFINISHED))
                                   .order_by(col(Release.id)))).all()
    shown = tuple(InFlight(r.id or 0, r.kind, r.service, r.environment, r.ref, r.state, r.requested_by,
                           (r.detail or {}).get("permalink")) for r in rows[:MAX_IN_FLIGHT])
    return shown, max(len(rows) - MAX_IN_FLIGHT, 0)


async def next_shift(ctx: AppContext, viewer: str, *, at: datetime) -> NextShift | None:
    best: NextShift | None = None
    for name, rotation in ctx.config.rotations.items():
        if not member_of(rotation, viewer):
            continue
        window = at
        while window < at + SHIFT_HORIZON and (best is None or window < best.start):
            found = None
            for piece in await schedule(ctx, name, window, window + SHIFT_STEP):
                role = role_in(piece, viewer)
                if role is not None and piece.end > at:
                    partner = piece.shadow if role == "primary" else piece.primary
                    found = NextShift(name, role, piece.start, piece.end, partner, piece.start <= at)
                    break
            if found is not None:
                if best is None or found.start < best.start:
                    best = found
                break
            window += SHIFT_STEP
    return best


async def overview(ctx: AppContext, viewer: str) -> HomeOverview:
    services, everyone = await viewer_services(ctx, viewer)
    releases, more = await in_flight(ctx, services)
    rotations = tuple(sorted(n for n, r in ctx.config.rotations.items() if member_of(r, viewer)))
    shift = await next_shift(ctx, viewer, at=ctx.clock.now()) if rotations else None
    return HomeOverview(viewer, services, everyone, releases, more, rotations, shift)
