"""`/oncall swap` and `/oncall cover`: check the request, record it, post it with Take / Approve buttons.

Rules: you can only give away a shift you hold; a shadow swaps only with a shadow and a primary
only with a primary (the same goes for who may cover); a swap trades your shift on DATE for the
other person's next shift in the same role. Nothing changes in the schedule until the request
is approved (`swap_decisions`). A request is stored with its Slack `request_key` claimed and its
post queued in the outbox, in one transaction, so a retried `/oncall swap` posts one request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from bot.commands import oncall as grammar
from bot.context import AppContext
from bot.errors import BadInput, Blocked, NotAllowed
from bot.oncall.display import local_span, mention
from bot.oncall.lookup import day_start, holder, people_in_role, role_in, rotation_named
from bot.oncall.roster import schedule, schedule_in
from bot.oncall.rotation_records import channel_thread
from bot.oncall.schedule_models import RequestKind, SwapRequest
from bot.oncall.shifts import Override, Role, Shift, apply_overrides
from bot.outbox import queue as outbox
from bot.storage import handled_requests as handled

SWAP_HORIZON = timedelta(weeks=26)
PREFIX = "swap:"  # a request's post is anchored `swap:<request id>`; its edits target that


def anchor(request_id: int | None) -> str:
    return f"{PREFIX}{request_id}"


async def request_swap(ctx: AppContext, command: grammar.OncallSwap, *, user: str,
                       request_key: str | None = None) -> str:
    rotation = rotation_named(ctx.config, command.rotation)
    if command.with_user == user:
        raise BadInput("you cannot swap with yourself; name the person to trade with, e.g. @alex")
    now = ctx.clock.now()
    start, end = _local_days(command.day, command.day, rotation.timezone)
    if end <= now:
        raise BadInput(f"{command.day} is over; name a day of a shift still to come")
    mine = [p for p in await schedule(ctx, command.rotation, start, end) if role_in(p, user) and p.end > now]
    if not mine:
        raise BadInput(f"you are not on call in {command.rotation} on {command.day}; `/oncall me` shows your shifts")
    shift = next((p for p in mine if p.start >= start), mine[0])
    role = role_in(shift, user)
    assert role is not None
    _check_same_role(ctx, command.rotation, role, command.with_user)
    later = await schedule(ctx, command.rotation, shift.end, shift.end + SWAP_HORIZON)
    theirs = next((p for p in later if holder(p, role) == command.with_user), None)
    if theirs is None:
        raise Blocked(f"{mention(command.with_user)} has no {role} shift in {command.rotation} in the next "
                      f"{SWAP_HORIZON.days // 7} weeks to trade; ask them to cover yours with "
                      f"`/oncall cover {command.rotation} FROM TO @user` instead")
    request = SwapRequest(kind=RequestKind.SWAP, rotation=command.rotation, requester=user, role=role,
                          start=shift.start, end=shift.end, swap_start=theirs.start, swap_end=theirs.end,
                          target=command.with_user, created_at=now)
    await check_feasible(ctx, request, overrides_for(request, command.with_user, []))
    zone = await ctx.directory.time_zone(user)
    return await _post(ctx, request, request_key, lambda posted: (
        f"Posted swap request #{posted.id} in {rotation.channel}: {mention(command.with_user)} would take your "
        f"{role} shift {local_span(shift.start, shift.end, zone)} and you theirs "
        f"{local_span(theirs.start, theirs.end, zone)}. It takes effect when they press *Take*."))


async def request_cover(ctx: AppContext, command: grammar.OncallCover, *, user: str,
                        request_key: str | None = None) -> str:
    rotation = rotation_named(ctx.config, command.rotation)
    if command.user == user:
        raise BadInput("you cannot cover yourself; name someone else or nobody (anyone in your role may take it)")
    now = ctx.clock.now()
    start, end = _local_days(command.start, command.end, rotation.timezone)
    if end <= now:
        raise BadInput(f"{command.start} to {command.end} is over; name days still to come")
    start = max(start, now)
    mine = [p for p in await schedule(ctx, command.rotation, start, end) if role_in(p, user)]
    if not mine:
        raise BadInput(f"you are not on call in {command.rotation} between {command.start} and {command.end}; "
                       "`/oncall me` shows your shifts")
    role = role_in(mine[0], user)
    assert role is not None
    if command.user is not None:
        _check_same_role(ctx, command.rotation, role, command.user)
    request = SwapRequest(kind=RequestKind.COVER, rotation=command.rotation, requester=user, role=role,
                          start=start, end=end, target=command.user, created_at=now)
    who = mention(command.user) if command.user else f"any {role} of {command.rotation}"
    zone = await ctx.directory.time_zone(user)
    return await _post(ctx, request, request_key, lambda posted: (
        f"Posted cover request #{posted.id} in {rotation.channel} for your {role} shifts "
        f"{local_span(start, end, zone)}; {who} can take it there."))


def _local_days(first: date, last: date, zone: str) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00) on the rotation's wall clock."""
    return day_start(first, zone), day_start(last + timedelta(days=1), zone)


def _check_same_role(ctx: AppContext, name: str, role: Role, other: str) -> None:
    rotation = ctx.config.rotations[name]
    if other in people_in_role(rotation, role):
        return
    other_role: Role = "shadow" if role == "primary" else "primary"
    if other in people_in_role(rotation, other_role):
        raise NotAllowed(f"a {role} swaps only with a {role}: {mention(other)} is a {other_role} in {name}")
    raise NotAllowed(f"{mention(other)} is not in the {name} rotation; a {role} swaps only with a {role} of it")


def overrides_for(request: SwapRequest, taker: str, pieces: list[Shift]) -> list[Override]:
    """What approving `request` with `taker` changes: overrides in the request's role.

    A swap: the taker holds [start, end), the requester [swap_start, swap_end). A cover: the taker
    holds the role wherever the requester holds it within [start, end) (from `pieces`).
    """
    role: Role = "primary" if request.role == "primary" else "shadow"
    if request.kind == RequestKind.SWAP:
        assert request.swap_start is not None and request.swap_end is not None
        return [Override(request.start, request.end, role, taker),
                Override(request.swap_start, request.swap_end, role, request.requester)]
    return [Override(max(p.start, request.start), min(p.end, request.end), role, taker)
            for p in pieces if holder(p, role) == request.requester]


async def check_feasible(ctx: AppContext, request: SwapRequest, overrides: list[Override]) -> None:
    """Refuse a change that would make somebody primary and shadow at once."""
    if not overrides:
        return
    start, end = min(o.start for o in overrides), max(o.end for o in overrides)
    async with ctx.db.session() as session:
        pieces = await schedule_in(session, ctx.config, request.rotation, start, end)
    try:
        apply_overrides(pieces, overrides)
    except ValueError:
        raise Blocked("that change would make somebody primary and shadow at the same time; "
                      "pick another shift or person") from None


async def _post(ctx: AppContext, request: SwapRequest, request_key: str | None,
                answer: Callable[[SwapRequest], str]) -> str:
    """Store the request and queue its post in the rotation's channel, in one transaction.

    Returns `answer(request)`, or for a repeated Slack request what the first one answered.
    """
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind=f"oncall-{request.kind}", now=request.created_at)
        if claim.repeat:
            return claim.earlier
        session.add(request)
        await session.flush()
        outbox.post(session, thread=channel_thread(request.rotation), anchor=anchor(request.id),
                    channel=ctx.config.rotations[request.rotation].channel,
                    message=ctx.oncall_view.swap_request(request), now=request.created_at)
        return claim.answer(answer(request))
