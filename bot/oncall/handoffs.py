"""Handoffs (§6): at each change of hands a channel post, DMs to the incoming pair, user-group sync.

One one-shot job per rotation (`handoff-{rotation}`) waits for the rotation's next handoff, an
instant computed in UTC from the rule with absences, swaps and covers applied; after each run
it schedules the next. A second job (`handoff-reminder-{rotation}`) DMs the incoming people
`reminder_before` ahead. Jobs carry plain values only: the rotation's name, the handoff's instant
and who held the pager when the job was planned.

A handoff happens once per (rotation, shift start) however often its job fires (a restart, a
second replica): see `handoff_runs`. `plan_rotation` also catches up: when who holds the pager
differs from what Switchman last announced (it was down at the handoff, or an approved swap or
an absence changed the current shift), it hands off at once.
"""

from __future__ import annotations

import functools
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from bot.context import AppContext
from bot.oncall import graduation, handoff_runs
from bot.oncall.models import Page, PageStatus
from bot.oncall.roster import TICK, schedule, schedule_in, shift_at
from bot.oncall.rotation_records import remember_channel, sync_rotations
from bot.oncall.shifts import Shift
from bot.slack import oncall_blocks, oncall_posts

log = logging.getLogger(__name__)
HANDOFF_JOB = "oncall.handoff"
REMINDER_JOB = "oncall.reminder"
Pair = tuple[str | None, str | None]
RETRY_GAP = timedelta(seconds=1)  # never re-fire a busy handoff in the same instant


def handoff_job_id(rotation: str) -> str:
    return f"handoff-{rotation}"


def reminder_job_id(rotation: str) -> str:
    return f"handoff-reminder-{rotation}"


def register_jobs(ctx: AppContext) -> None:
    ctx.scheduler.register(HANDOFF_JOB, functools.partial(run_handoff, ctx))
    ctx.scheduler.register(REMINDER_JOB, functools.partial(run_reminder, ctx))


async def plan_jobs(ctx: AppContext) -> None:
    """On start: a row per rotation, then each rotation's next handoff and reminder (or a catch-up now)."""
    await sync_rotations(ctx)
    for name in ctx.config.rotations:
        try:
            await plan_rotation(ctx, name)
        except Exception:
            log.exception("could not plan the handoffs of a rotation", extra={"rotation": name})


async def plan_rotation(ctx: AppContext, name: str) -> None:
    """Schedule `name`'s next handoff and reminder; call it again after anything changed the schedule."""
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        current = (await schedule_in(session, ctx.config, name, now, now + TICK))[0]
        last = await handoff_runs.latest_completed(session, name)
        at_start = await handoff_runs.find(session, name, current.start)
        upcoming = await handoff_runs.find(session, name, current.end)
    # Who we last announced; before any handoff, who the rule alone puts on call now.
    announced = (last.primary, last.shadow) if last is not None else _pair(shift_at(ctx.config.rotations[name], now))
    if announced != _pair(current):
        # Who holds the pager is not what was announced: hand off now, keyed by the shift's start unless
        # that handoff already happened (then the change came within the shift: key it by this instant).
        key = current.start if at_start is None or at_start.completed_at is None else now
        _schedule_handoff(ctx, name, now, key, announced)
    else:
        _schedule_handoff(ctx, name, current.end, current.end, _pair(current))
    if upcoming is None or upcoming.reminded_at is None:
        remind_at = max(now, current.end - ctx.config.rotations[name].reminder_before)
        ctx.scheduler.schedule(reminder_job_id(name), remind_at, REMINDER_JOB, rotation=name,
                               shift_start=current.end.isoformat())


def _schedule_handoff(ctx: AppContext, name: str, at: datetime, key: datetime, outgoing: Pair | list[str | None]
                      ) -> None:
    ctx.scheduler.schedule(handoff_job_id(name), at, HANDOFF_JOB, rotation=name, shift_start=key.isoformat(),
                           outgoing=list(outgoing))


async def run_handoff(ctx: AppContext, *, rotation: str, shift_start: str,
                      outgoing: list[str | None] | None = None) -> None:
    """The job: hand `rotation` over to whoever holds it from `shift_start`, once.

    `outgoing` is who held it as the job was planned; what Switchman last announced, if anything, wins.
    """
    if rotation not in ctx.config.rotations:
        log.info("handoff of a rotation no longer configured", extra={"rotation": rotation})
        return
    key = datetime.fromisoformat(shift_start)
    now = ctx.clock.now()
    claim = await handoff_runs.claim(ctx.db, rotation, key, now=now, token=secrets.token_hex(8))
    if claim.busy_until is not None:  # another process is at it; look again when its lease ends
        _schedule_handoff(ctx, rotation, max(claim.busy_until, now + RETRY_GAP), key, outgoing or [None, None])
        return
    if claim.won:
        try:
            await _hand_off(ctx, rotation, claim.run, now, outgoing)
        except Exception:
            # Our claim stands until its lease ends; the retry then takes it over and resumes.
            log.exception("handoff failed; retrying when the claim's lease ends", extra={"rotation": rotation})
            _schedule_handoff(ctx, rotation, now + handoff_runs.LEASE, key, outgoing or [None, None])
            return
    await plan_rotation(ctx, rotation)


async def _hand_off(ctx: AppContext, name: str, run: handoff_runs.HandoffRun, now: datetime,
                    planned_outgoing: list[str | None] | None) -> None:
    assert run.id is not None
    rotation = ctx.config.rotations[name]
    async with ctx.db.session() as session:
        incoming = (await schedule_in(session, ctx.config, name, now, now + TICK))[0]
        last = await handoff_runs.latest_completed(session, name, excluding=run.shift_start)
    outgoing: Pair | None = None
    if last is not None:
        outgoing = (last.primary, last.shadow)
    elif planned_outgoing and len(planned_outgoing) == 2 and any(planned_outgoing):
        outgoing = (planned_outgoing[0], planned_outgoing[1])
    await handoff_runs.record(ctx.db, run.id, primary=incoming.primary, shadow=incoming.shadow,
                              slot_index=incoming.index, shift_end=incoming.end)
    pages = await open_pages(ctx, name)
    if run.message_ts is None:  # a takeover of an abandoned claim does not post twice
        posted = await oncall_posts.post(ctx.slack, rotation.channel,
                                         oncall_blocks.handoff(name, outgoing, incoming, pages))
        await handoff_runs.record(ctx.db, run.id, channel_id=posted.channel, message_ts=posted.ts)
        await remember_channel(ctx, name, posted.channel)
    for role, person in (("primary", incoming.primary), ("shadow", incoming.shadow)):
        if person is not None:
            await oncall_posts.direct_message(ctx.slack, person, oncall_blocks.incoming_dm(name, role, incoming, pages))
    await oncall_posts.sync_usergroup(ctx.slack, ctx.directory, rotation.usergroups.primary, [incoming.primary])
    await oncall_posts.sync_usergroup(ctx.slack, ctx.directory, rotation.usergroups.shadow, [incoming.shadow])
    await handoff_runs.record(ctx.db, run.id, completed_at=ctx.clock.now())
    log.info("handed off", extra={"rotation": name, "shift_start": run.shift_start.isoformat()})
    try:
        await graduation.check(ctx, name)
    except Exception:
        log.exception("graduation check failed", extra={"rotation": name})


async def run_reminder(ctx: AppContext, *, rotation: str, shift_start: str) -> None:
    """The job: DM the people who start a shift at `shift_start` and are not on call just before it."""
    if rotation not in ctx.config.rotations:
        return
    start = datetime.fromisoformat(shift_start)
    pieces = await schedule(ctx, rotation, start - TICK, start + TICK)
    coming = next((p for p in pieces if p.start == start), None)
    if coming is None:  # the schedule moved since this was planned; plan_rotation has the new reminder
        return
    before = {p for p in _pair(pieces[0]) if p} if pieces[0].end == start else set()
    people = [(role, person) for role, person in (("primary", coming.primary), ("shadow", coming.shadow))
              if person is not None and person not in before]
    if not people or not await handoff_runs.mark_reminded(ctx.db, rotation, start, now=ctx.clock.now()):
        return
    for role, person in people:
        await oncall_posts.direct_message(ctx.slack, person, oncall_blocks.reminder_dm(rotation, role, coming))


async def open_pages(ctx: AppContext, rotation: str) -> int:
    async with ctx.db.session() as session:
        query = select(func.count()).select_from(Page).where(
            col(Page.rotation) == rotation, col(Page.status) != PageStatus.RESOLVED)
        return int((await session.exec(query)).one())


def _pair(shift: Shift | None) -> Pair:
    if shift is None:
        return None, None
    return shift.primary, shift.shadow
