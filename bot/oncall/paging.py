"""Pages (§6): opening one for the pair on call, acknowledging, resolving.

A page is stored before anyone is told, so a webhook can answer as soon as it is recorded and
a restart loses nothing; its messages are queued in the outbox next (`page_notify`), and each ack
or resolve queues the edits of those messages in its own transaction. Who may act:

- ack: the page's primary (or whoever is primary now, should the page outlive the shift) and
  the escalation targets paged so far. Their ack stops escalation and cancels the SMS, calls
  and emails not yet sent (a resolve does too). The shadow's ack is recorded
  as "seen" and escalation goes on. Anyone else is told who can ack.
- resolve: the same people, and whoever raised the page with `/oncall page`; the sender of an
  inbound page resolves it through its webhook.

Acks and resolves are idempotent: a repeat says what already happened and changes nothing. A
repeated delivery of one Slack request (`request_key`) is claimed in `handled_requests` with its
change, so a retried `/oncall page` opens one page and a retried ack answers as the first did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands.suggest import did_you_mean
from bot.context import AppContext
from bot.errors import BadInput, NotAllowed
from bot.oncall import escalation, notification_rules, page_notify
from bot.oncall.models import Page, PageStatus
from bot.oncall.roster import current_shift
from bot.storage import handled_requests as handled

MAX_TITLE = 1000


@dataclass(frozen=True)
class PageOutcome:
    page: Page
    duplicate: bool  # an open page with the same (rotation, dedup_key) exists; nothing new was opened


def unknown_rotation(ctx: AppContext, rotation: str, *, usage: str | None = None) -> BadInput:
    names = ", ".join(f"`{n}`" for n in sorted(ctx.config.rotations)) or "none are configured"
    return BadInput(f"{rotation!r} is not a rotation{did_you_mean(rotation, ctx.config.rotations)} "
                    f"(rotations: {names})", usage=usage)


async def open_page(ctx: AppContext, *, rotation: str, source: str, dedup_key: str, title: str,
                    details: dict[str, Any], service: str | None = None, opened_by: str | None = None,
                    notify_now: bool = False, request_key: str | None = None) -> PageOutcome:
    """Open a page for the pair on call now, unless one with this dedup key is still open.

    Its messages are queued in the background, or before returning with `notify_now` (when the
    caller wants to report who is paged, the shadow's business hours considered). With a
    `request_key`, a repeated request returns the page it opened the first time (found by its
    dedup key, which the caller derives from the request) as a duplicate, open or not.
    """
    if rotation not in ctx.config.rotations:
        raise unknown_rotation(ctx, rotation)
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        existing = await open_page_with_key(session, rotation=rotation, dedup_key=dedup_key)
    if existing is not None:
        return PageOutcome(existing, duplicate=True)
    shift = await current_shift(ctx, rotation, now)  # outside any session: it may open its own
    primary, shadow = (shift.primary, shift.shadow) if shift else (None, None)
    page = Page(rotation=rotation, source=source, dedup_key=dedup_key, title=title.strip()[:MAX_TITLE] or "page",
                details=details, service=service, primary=primary, shadow=shadow, created_at=now,
                opened_by=opened_by, next_escalation_at=escalation.first_step(ctx, rotation, now, primary))
    try:
        async with ctx.db.session() as session:
            existing = await open_page_with_key(session, rotation=rotation, dedup_key=dedup_key)
            if existing is not None:
                return PageOutcome(existing, duplicate=True)
            claim = await handled.claim(session, key=request_key, kind="page-open", now=now)
            if claim.repeat:
                earlier = (await session.exec(select(Page).where(Page.rotation == rotation,
                                                                 Page.dedup_key == dedup_key))).first()
                if earlier is None:
                    raise BadInput("this request was handled already, but not by opening a page")
                return PageOutcome(earlier, duplicate=True)
            session.add(page)
            await session.flush()
    except IntegrityError:  # the same page raced itself in from another replica
        async with ctx.db.session() as session:
            existing = await open_page_with_key(session, rotation=rotation, dedup_key=dedup_key)
        if existing is None:
            raise
        return PageOutcome(existing, duplicate=True)
    page_id = page.id
    assert page_id is not None
    ctx.metrics.page_event("opened", rotation)
    if page.next_escalation_at is not None:
        escalation.schedule(ctx, page_id, page.next_escalation_at, level=1)
    if notify_now:
        await page_notify.notify_opened(ctx, page_id)
        page = await get_page(ctx, page_id)
    else:
        ctx.background.spawn(page_notify.notify_opened(ctx, page_id), name=f"page-{page_id}-notify")
    return PageOutcome(page, duplicate=False)


async def open_page_with_key(session: AsyncSession, *, rotation: str, dedup_key: str) -> Page | None:
    query = select(Page).where(Page.rotation == rotation, Page.dedup_key == dedup_key,
                               Page.status != PageStatus.RESOLVED)
    return (await session.exec(query)).first()


async def open_pages_with_key(ctx: AppContext, *, dedup_key: str, source: str) -> list[int]:
    async with ctx.db.session() as session:
        query = select(Page.id).where(Page.dedup_key == dedup_key, Page.source == source,
                                      Page.status != PageStatus.RESOLVED)
        return [i for i in (await session.exec(query.order_by(col(Page.id)))).all() if i is not None]


async def get_page(ctx: AppContext, page_id: int) -> Page:
    async with ctx.db.session() as session:
        page = await session.get(Page, page_id)
    if page is None:
        raise BadInput(f"page #{page_id} does not exist")
    return page


async def _responders(ctx: AppContext, page: Page) -> list[str]:
    """Who may ack: the page's primary, the rotation's primary now, escalation targets paged so far."""
    shift = await current_shift(ctx, page.rotation, ctx.clock.now()) if page.rotation in ctx.config.rotations \
        else None
    people = [page.primary, shift.primary if shift else None, *page.escalated_to]
    return list(dict.fromkeys(p for p in people if p))


async def acknowledge(ctx: AppContext, page_id: int, user: str, *, system: bool = False,
                      request_key: str | None = None) -> str:
    """Ack as `user` (or as the sender of an inbound page, `system`); returns what to tell them."""
    who = ctx.oncall_view.who
    page = await get_page(ctx, page_id)
    responders = [] if system else await _responders(ctx, page)
    is_shadow = not system and user == page.shadow and user not in responders
    if not system and not is_shadow and user not in responders:
        shadow = f"; the shadow ({who(page.shadow)}) can mark it seen" if page.shadow else ""
        raise NotAllowed(f"only {_listing(ctx, responders)} (the primary on call and escalation targets paged so far) "
                         f"can acknowledge page #{page_id}{shadow}.")
    now = ctx.clock.now()
    cancelled: list[int] = []
    acked: tuple[str, float] | None = None  # (rotation, seconds from opening to this ack)
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="page-ack", now=now)
        if claim.repeat:
            return claim.earlier
        row = await page_notify.locked(session, page_id)
        if row.status == PageStatus.RESOLVED:
            return claim.answer(f"page #{page_id} is already resolved (by {who(row.resolved_by)}).")
        if is_shadow:
            if row.seen_by is not None:
                return claim.answer(f"you already marked page #{page_id} as seen; escalation goes on until the "
                                    "primary acks.")
            row.seen_by, row.seen_at = user, now
            answer = (f"page #{page_id} marked as seen. As the shadow your ack does not stop escalation; "
                      f"{who(row.primary)} still needs to ack.")
        elif row.status == PageStatus.ACKNOWLEDGED:
            return claim.answer(f"page #{page_id} was already acknowledged by {who(row.acked_by)}.")
        else:
            row.status, row.acked_by, row.acked_at, row.next_escalation_at = PageStatus.ACKNOWLEDGED, user, now, None
            answer = f"you acknowledged page #{page_id}; escalation stopped."
            cancelled = await notification_rules.cancel_pending(session, page_id, now=now)
            acked = (row.rotation, (now - row.created_at).total_seconds())
        session.add(row)
        await page_notify.queue_edits(session, ctx, row, now=now)
        claim.answer(answer)
    if not is_shadow:
        escalation.cancel(ctx, page_id)
        notification_rules.unschedule(ctx, cancelled)
    if acked is not None:
        ctx.metrics.page_acknowledged(*acked)
    return answer


async def resolve(ctx: AppContext, page_id: int, user: str, *, system: bool = False,
                  request_key: str | None = None) -> str:
    who = ctx.oncall_view.who
    page = await get_page(ctx, page_id)
    if not system:
        allowed = [*await _responders(ctx, page), *([page.opened_by] if page.opened_by else [])]
        if user not in allowed:
            raise NotAllowed(f"only {_listing(ctx, list(dict.fromkeys(allowed)))} can resolve page #{page_id}.")
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="page-resolve", now=now)
        if claim.repeat:
            return claim.earlier
        row = await page_notify.locked(session, page_id)
        if row.status == PageStatus.RESOLVED:
            return claim.answer(f"page #{page_id} was already resolved by {who(row.resolved_by)}.")
        row.status, row.resolved_by, row.resolved_at, row.next_escalation_at = PageStatus.RESOLVED, user, now, None
        session.add(row)
        cancelled = await notification_rules.cancel_pending(session, page_id, now=now)
        await page_notify.queue_edits(session, ctx, row, now=now)
        answer = claim.answer(f"you resolved page #{page_id}.")
        rotation = row.rotation
    escalation.cancel(ctx, page_id)
    notification_rules.unschedule(ctx, cancelled)
    ctx.metrics.page_event("resolved", rotation)
    return answer


def _listing(ctx: AppContext, people: list[str]) -> str:
    if not people:
        return "the primary on call"
    named = [ctx.oncall_view.who(p) for p in people]
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " or " + named[-1]
