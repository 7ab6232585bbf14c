"""The Take / Approve / Decline buttons of a swap or cover request, and what approval changes.

- Take: someone in the request's role (a shadow for a shadow shift, a primary for a primary
  one), never the requester; only the named person when the request names one. A named person
  taking it is the other party agreeing, which approves it at once.
- Approve: the other party (the requester, once someone took it) or any primary of the
  rotation; never the person who took it.
- Decline: the requester (withdraw), the named person, or a primary.

Approval writes the overrides, a ledger row and the edit of the request's post (queued in the
outbox) in one transaction, guarded by a compare-and-set on the request's status, so a double
click approves once; each decision also claims its Slack
`request_key` in that transaction, so a retried click answers as the first did and changes nothing.
Each returns what to tell the clicker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppContext
from bot.errors import BadInput, Blocked, NotAllowed
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind
from bot.oncall import handoffs
from bot.oncall.display import mention
from bot.oncall.lookup import holder, people_in_role
from bot.oncall.roster import schedule_in
from bot.oncall.rotation_records import channel_thread
from bot.oncall.schedule_models import RequestKind, RequestStatus, ScheduleOverride, SwapRequest
from bot.oncall.shifts import Role, Shift, apply_overrides
from bot.oncall.swap_requests import anchor, overrides_for
from bot.outbox import queue as outbox
from bot.storage import handled_requests as handled

PENDING = (RequestStatus.OPEN, RequestStatus.TAKEN)


async def take(ctx: AppContext, request_id: int, *, user: str, request_key: str | None = None) -> str:
    request = await _load(ctx, request_id)
    if request.status != RequestStatus.OPEN:
        raise Blocked(f"request #{request_id} is already {request.status}")
    if user == request.requester:
        raise NotAllowed(f"you asked for request #{request_id}, so someone else has to take it")
    if request.target is not None and user != request.target:
        raise NotAllowed(f"request #{request_id} asks {mention(request.target)}; only they can take it")
    role: Role = "primary" if request.role == "primary" else "shadow"
    if user not in people_in_role(ctx.config.rotations[request.rotation], role):
        raise NotAllowed(f"only a {role} of {request.rotation} can take a {role} shift: "
                         f"a {role} swaps only with a {role}")
    if request.target is not None:
        return await _approve(ctx, request, approver=user, taker=user, request_key=request_key)
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="swap-take", now=now)
        if claim.repeat:
            return claim.earlier
        if not await _transition_in(session, request_id, (RequestStatus.OPEN,), status=RequestStatus.TAKEN,
                                    taker=user):
            raise Blocked(f"someone else took request #{request_id} first")
        await _queue_edit(session, ctx, request_id, now=now)
        return claim.answer(f"You offered to take request #{request_id}; it takes effect when "
                            f"{mention(request.requester)} or a primary of {request.rotation} approves.")


async def approve(ctx: AppContext, request_id: int, *, user: str, request_key: str | None = None) -> str:
    request = await _load(ctx, request_id)
    if request.status == RequestStatus.APPROVED:
        return f"Request #{request_id} is already approved (by {mention(request.approver)})."
    if request.status == RequestStatus.DECLINED:
        raise Blocked(f"request #{request_id} was declined")
    if request.status == RequestStatus.OPEN:
        if request.target == user:
            return await take(ctx, request_id, user=user, request_key=request_key)
        raise Blocked(f"nobody has taken request #{request_id} yet; it needs a taker before approval")
    assert request.taker is not None
    if user == request.taker:
        raise NotAllowed(f"you took request #{request_id}, so {mention(request.requester)} or a primary "
                         f"of {request.rotation} approves it, not you")
    if user != request.requester and user not in ctx.config.rotations[request.rotation].primaries:
        raise NotAllowed(f"only {mention(request.requester)} or a primary of {request.rotation} "
                         f"can approve request #{request_id}")
    return await _approve(ctx, request, approver=user, taker=request.taker, request_key=request_key)


async def decline(ctx: AppContext, request_id: int, *, user: str, request_key: str | None = None) -> str:
    request = await _load(ctx, request_id)
    if request.status not in PENDING:
        raise Blocked(f"request #{request_id} is already {request.status}")
    allowed = {request.requester, request.target} | set(ctx.config.rotations[request.rotation].primaries)
    if user not in allowed:
        raise NotAllowed(f"only {mention(request.requester)}, the person asked, or a primary of "
                         f"{request.rotation} can decline request #{request_id}")
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="swap-decline", now=now)
        if claim.repeat:
            return claim.earlier
        if not await _transition_in(session, request_id, PENDING, status=RequestStatus.DECLINED, approver=user,
                                    decided_at=now):
            raise Blocked(f"request #{request_id} was decided a moment ago")
        await _queue_edit(session, ctx, request_id, now=now)
        return claim.answer(f"You declined request #{request_id}; the schedule is unchanged.")


async def _approve(ctx: AppContext, request: SwapRequest, *, approver: str, taker: str,
                   request_key: str | None) -> str:
    assert request.id is not None
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="swap-approve", now=now)
        if claim.repeat:
            return claim.earlier
        if not await _transition_in(session, request.id, PENDING, status=RequestStatus.APPROVED, taker=taker,
                                    approver=approver, decided_at=now):
            return claim.answer(f"Request #{request.id} was decided a moment ago.")
        pieces = await schedule_in(session, ctx.config, request.rotation, request.start, request.end)
        if request.kind == RequestKind.SWAP and not await _still_held(session, ctx, request, pieces, taker):
            raise Blocked("the schedule changed since the request (an absence, or another swap): the shifts "
                          "to trade are no longer held as asked, so nothing was changed")
        overrides = overrides_for(request, taker, pieces)
        if not overrides:
            raise Blocked(f"{mention(request.requester)} no longer holds a {request.role} shift then; "
                          "nothing to take over")
        window = await schedule_in(session, ctx.config, request.rotation, min(o.start for o in overrides),
                                   max(o.end for o in overrides))
        try:
            apply_overrides(window, overrides)
        except ValueError:
            raise Blocked("the schedule changed since the request: approving it now would make somebody "
                          "primary and shadow at once, so nothing was changed") from None
        reason = f"{request.kind} request #{request.id}"
        for override in overrides:
            session.add(ScheduleOverride(rotation=request.rotation, role=override.role, person=override.person,
                                         start=override.start, end=override.end, reason=reason,
                                         created_by=approver, request_id=request.id, created_at=now))
        kind = DecisionKind.SWAP if request.kind == RequestKind.SWAP else DecisionKind.COVER
        posted = await outbox.anchor_of(session, anchor(request.id))  # the request's post, if it is out yet
        link = posted.permalink if posted is not None else None
        await ledger.record(session, kind=kind, actor=approver, decided_at=now, subject=request.rotation,
                            outcome="approved", permalink=link, evidence={
                                "request": request.id, "role": request.role, "requester": request.requester,
                                "taker": taker, "overrides": [
                                    {"person": o.person, "start": o.start.isoformat(), "end": o.end.isoformat()}
                                    for o in overrides]})
        await _queue_edit(session, ctx, request.id, now=now)
        answer = claim.answer(f"Approved request #{request.id}: {mention(taker)} takes over; the schedule is updated.")
    await handoffs.plan_rotation(ctx, request.rotation)
    return answer


async def _still_held(session: AsyncSession, ctx: AppContext, request: SwapRequest, pieces: list[Shift],
                      taker: str) -> bool:
    """A swap trades two shifts as they were when asked: the requester's and the taker's, in one role."""
    assert request.swap_start is not None and request.swap_end is not None
    role: Role = "primary" if request.role == "primary" else "shadow"
    theirs = await schedule_in(session, ctx.config, request.rotation, request.swap_start, request.swap_end)
    return (all(holder(p, role) == request.requester for p in pieces)
            and all(holder(p, role) == taker for p in theirs))


async def _load(ctx: AppContext, request_id: int) -> SwapRequest:
    async with ctx.db.session() as session:
        request = await session.get(SwapRequest, request_id)
    if request is None:
        raise BadInput(f"there is no swap or cover request #{request_id}")
    return request


async def _transition_in(session: AsyncSession, request_id: int, allowed: tuple[RequestStatus, ...],
                         **values: object) -> bool:
    result = await session.exec(update(SwapRequest)
                                .where(col(SwapRequest.id) == request_id,
                                       col(SwapRequest.status).in_([s.value for s in allowed]))
                                .values(**values))
    return bool(result.rowcount == 1)


async def _queue_edit(session: AsyncSession, ctx: AppContext, request_id: int, *, now: datetime) -> None:
    """In the decision's transaction: edit the request's post to show it (buttons go as it is decided)."""
    request = (await session.exec(select(SwapRequest).where(SwapRequest.id == request_id)
                                  .execution_options(populate_existing=True))).one()
    outbox.update(session, thread=channel_thread(request.rotation), target=anchor(request_id),
                  channel=ctx.config.rotations[request.rotation].channel, message=ctx.oncall_view.swap_request(request),
                  now=now)
