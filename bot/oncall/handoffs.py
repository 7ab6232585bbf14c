"""Handoffs (§6): at each change of hands a channel post, DMs to the incoming pair, user-group sync.

One one-shot job per rotation (`handoff-{rotation}`) waits for the rotation's next handoff, an
instant computed in UTC from the rule with absences, swaps and covers applied; after each run
it schedules the next. A second job (`handoff-reminder-{rotation}`) DMs the incoming people
`reminder_before` ahead. Jobs carry plain values only: the rotation's name, the handoff's instant
and who held the pager when the job was planned.

A handoff happens once per (rotation, shift start) however often its job fires (a restart, a
second replica): see `handoff_runs`. Its post, DMs and user-group syncs are queued in the outbox
in the transaction that finishes the claimed run, so they go out once, whenever Slack lets them;
the reminder's DMs likewise with the reminder's mark. `plan_rotation` also catches up: when who holds the pager
differs from what Switchman last announced (it was down at the handoff, or an approved swap or
an absence changed the current shift), it hands off at once.
"""

from __future__ import annotations

import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppContext
from bot.oncall import graduation, handoff_runs, rotation_records, swap_requests
from bot.oncall.models import Page, PageStatus
from bot.oncall.roster import TICK, schedule, schedule_in, schedules_in, shift_at
from bot.oncall.schedule_models import GraduationProposal, HandoffRun, SwapRequest
from bot.oncall.shifts import Shift
from bot.outbox import queue as outbox

log = logging.getLogger(__name__)
HANDOFF_JOB = "oncall.handoff"
REMINDER_JOB = "oncall.reminder"
Pair = tuple[str | None, str | None]
RETRY_GAP = timedelta(seconds=1)  # never re-fire a busy handoff in the same instant
PREFIX = "handoff:"  # the channel post of a run is anchored `handoff:<run id>`


def handoff_job_id(rotation: str) -> str:
    return f"handoff-{rotation}"


def reminder_job_id(rotation: str) -> str:
    return f"handoff-reminder-{rotation}"


def register_jobs(ctx: AppContext) -> None:
    ctx.scheduler.register(HANDOFF_JOB, functools.partial(run_handoff, ctx))
    ctx.scheduler.register(REMINDER_JOB, functools.partial(run_reminder, ctx))
    assert ctx.outbox is not None
    for prefix, model in ((PREFIX, HandoffRun), (swap_requests.PREFIX, SwapRequest),
                          (graduation.PREFIX, GraduationProposal)):
        ctx.outbox.on_anchored(prefix, rotation_records.on_posted(ctx, prefix, model))


async def plan_jobs(ctx: AppContext) -> None:
    """On start: a row per rotation, then each rotation's next handoff and reminder (or a catch-up now).

    Everything the plans depend on is read for all rotations at once (a handful of queries, not a few
    per rotation), then each rotation is planned exactly as `plan_rotation` would plan it.
    """
    await rotation_records.sync_rotations(ctx)
    now = ctx.clock.now()
    names = list(ctx.config.rotations)
    async with ctx.db.session() as session:
        schedules = await schedules_in(session, ctx.config, names, now, now + TICK)
        last = await handoff_runs.latest_completed_of_each(session)
        currents = {name: pieces[0] for name, pieces in schedules.items() if isinstance(pieces, list) and pieces}
        runs = await handoff_runs.find_many(session, [(name, instant) for name, shift in currents.items()
                                                      for instant in (shift.start, shift.end)])
    for name in names:
        try:
            pieces = schedules[name]
            if isinstance(pieces, Exception):
                raise pieces
            current = pieces[0]
            _plan(ctx, name, now, RotationState(current, last.get(name), runs.get((name, current.start)),
                                                runs.get((name, current.end))))
        except Exception:
            log.exception("could not plan the handoffs of a rotation", extra={"rotation": name})


@dataclass(frozen=True)
class RotationState:
    """What a rotation's plan depends on: its current shift and the handoff runs around it."""

    current: Shift  # who holds it now, absences, swaps and covers applied
    last: HandoffRun | None  # the handoff Switchman announced last
    at_start: HandoffRun | None  # the run of the current shift's start, if any
    upcoming: HandoffRun | None  # the run of the next shift's start, if any


async def plan_rotation(ctx: AppContext, name: str) -> None:
    """Schedule `name`'s next handoff and reminder; call it again after anything changed the schedule."""
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        current = (await schedule_in(session, ctx.config, name, now, now + TICK))[0]
        state = RotationState(current, await handoff_runs.latest_completed(session, name),
                              await handoff_runs.find(session, name, current.start),
                              await handoff_runs.find(session, name, current.end))
    _plan(ctx, name, now, state)


def _plan(ctx: AppContext, name: str, now: datetime, state: RotationState) -> None:
    current, last = state.current, state.last
    # Who we last announced; before any handoff, who the rule alone puts on call now.
    announced = (last.primary, last.shadow) if last is not None else _pair(shift_at(ctx.config.rotations[name], now))
    if announced != _pair(current):
        # Who holds the pager is not what was announced: hand off now, keyed by the shift's start unless
        # that handoff already happened (then the change came within the shift: key it by this instant).
        key = current.start if state.at_start is None or state.at_start.completed_at is None else now
        _schedule_handoff(ctx, name, now, key, announced)
    else:
        _schedule_handoff(ctx, name, current.end, current.end, _pair(current))
    if state.upcoming is None or state.upcoming.reminded_at is None:
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
            # Nothing was queued; our claim stands until its lease ends, then the retry takes it over.
            log.exception("handoff failed; retrying when the claim's lease ends", extra={"rotation": rotation})
            _schedule_handoff(ctx, rotation, now + handoff_runs.LEASE, key, outgoing or [None, None])
            return
    await plan_rotation(ctx, rotation)


async def _hand_off(ctx: AppContext, name: str, run: handoff_runs.HandoffRun, now: datetime,
                    planned_outgoing: list[str | None] | None) -> None:
    assert run.id is not None
    rotation = ctx.config.rotations[name]
    view = ctx.oncall_view
    # Asked of Slack before the transaction; a failure here retries the whole handoff later.
    groups = [(await _group_id(ctx, rotation.usergroups.primary), "primary"),
              (await _group_id(ctx, rotation.usergroups.shadow), "shadow")]
    async with ctx.db.session() as session:
        incoming = (await schedule_in(session, ctx.config, name, now, now + TICK))[0]
        last = await handoff_runs.latest_completed(session, name, excluding=run.shift_start)
        outgoing: Pair | None = None
        if last is not None:
            outgoing = (last.primary, last.shadow)
        elif planned_outgoing and len(planned_outgoing) == 2 and any(planned_outgoing):
            outgoing = (planned_outgoing[0], planned_outgoing[1])
        pages = await open_pages(session, name)
        if not await handoff_runs.complete(session, run, now=ctx.clock.now(), primary=incoming.primary,
                                           shadow=incoming.shadow, slot_index=incoming.index,
                                           shift_end=incoming.end):
            log.info("handoff finished by whoever took over our claim", extra={"rotation": name})
            return
        outbox.post(session, thread=rotation_records.channel_thread(name), anchor=f"{PREFIX}{run.id}",
                    channel=rotation.channel, message=view.handoff(name, outgoing, incoming, pages), now=now)
        people = {"primary": incoming.primary, "shadow": incoming.shadow}
        for role, person in people.items():
            if person is not None:
                outbox.direct(session, user=person, message=view.incoming_dm(name, role, incoming, pages), now=now)
        for group_id, role in groups:
            person = people[role]
            if group_id is not None and person is not None:  # Slack cannot empty a group: nobody leaves it as is
                outbox.usergroup(session, group_id=group_id, users=[person], now=now)
    log.info("handed off", extra={"rotation": name, "shift_start": run.shift_start.isoformat()})
    try:
        await graduation.check(ctx, name)
    except Exception:
        log.exception("graduation check failed", extra={"rotation": name})


async def _group_id(ctx: AppContext, handle: str | None) -> str | None:
    if handle is None:
        return None
    group_id = await ctx.directory.usergroup_id(handle)
    if group_id is None:
        log.warning("user group not found", extra={"usergroup": handle})
    return group_id


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
    if not people:
        return
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        if not await handoff_runs.mark_reminded(session, rotation, start, now=now):
            return
        for role, person in people:
            outbox.direct(session, user=person, message=ctx.oncall_view.reminder_dm(rotation, role, coming), now=now)


async def open_pages(session: AsyncSession, rotation: str) -> int:
    query = select(func.count()).select_from(Page).where(
        col(Page.rotation) == rotation, col(Page.status) != PageStatus.RESOLVED)
    return int((await session.exec(query)).one())


def _pair(shift: Shift | None) -> Pair:
    if shift is None:
        return None, None
    return shift.primary, shift.shadow
