"""Telling people about a page, through the outbox: DMs to the pair and escalation targets, the channel post.

Every message is queued in the transaction that records what it announces: the first round with
`notified_at`, an escalation's DM and thread note with the level it reached, the edit of every
message with the ack or resolve that changes it. The SMS, calls and emails people's notification rules ask
for are planned in those same transactions (`notification_rules`). Messages are anchored `page:<id>:dm:<user>` and
`page:<id>:channel`, so edits find them and nobody is DMed twice about one page. A DM and its edits
share the person's outbox thread, the channel post, its edits and its notes the page's own, so each
edit follows its message. When a message lands, `record_posted` adds it to `page_notifications`
in the outbox's transaction. Slack refusing one person (a deactivated account) fails only that
person's messages; the others go out regardless.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppContext
from bot.oncall import notification_rules
from bot.oncall.alert_models import NotificationRole, PageNotification
from bot.oncall.models import Page
from bot.oncall.page_routing import shadow_excluded
from bot.outbox import queue as outbox
from bot.outbox.models import OutboxKind, OutboxMessage, OutboxState
from bot.outbox.wire import Delivered

log = logging.getLogger(__name__)
PREFIX = "page:"
CHANNEL = "channel"


def dm_anchor(page_id: int, user: str) -> str:
    return f"{PREFIX}{page_id}:dm:{user}"


def channel_anchor(page_id: int) -> str:
    return f"{PREFIX}{page_id}:{CHANNEL}"


def parse_anchor(name: str) -> tuple[int, str | None] | None:
    """(page id, the person DMed) of a page message's anchor; None as the person for the channel post."""
    head, _, rest = name.removeprefix(PREFIX).partition(":")
    if not name.startswith(PREFIX) or not head.isdigit():
        return None
    if rest == CHANNEL:
        return int(head), None
    kind, _, user = rest.partition(":")
    return (int(head), user) if kind == "dm" and user else None


def role_of(page: Page, user: str | None) -> tuple[str, int]:
    """How `user` was told about `page` (role, escalation level), from the page as recorded."""
    if user is None:
        return NotificationRole.CHANNEL, 0
    if user == page.primary:
        return NotificationRole.PRIMARY, 0
    if user == page.shadow and page.shadow_note is None:
        return NotificationRole.SHADOW, 0
    if user in page.escalated_to:
        return NotificationRole.ESCALATION, page.escalated_to.index(user) + 1
    return NotificationRole.ESCALATION, 0


def runbook_for(ctx: AppContext, service: str | None) -> str | None:
    found = ctx.config.services.get(service) if service else None
    return found.runbook if found else None


async def notify_opened(ctx: AppContext, page_id: int) -> None:
    """Queue the DMs to the primary and (within their hours) the shadow, and the rotation channel's post."""
    async with ctx.db.session() as session:
        page = await session.get(Page, page_id)
    if page is None or page.notified_at is not None:
        return
    rotation = ctx.config.rotations.get(page.rotation)
    if rotation is None:
        log.warning("page's rotation is no longer configured; nobody notified", extra={"page": page_id})
        return
    note = None
    if page.shadow and page.shadow_note is None:  # asked before the transaction: it is a call to Slack
        # The zone given in `people:` is the shadow's own word for paging; else their Slack profile's.
        zone = ctx.config.person(page.shadow).timezone or await ctx.directory.time_zone_or(page.shadow,
                                                                                            rotation.timezone)
        note = shadow_excluded(rotation, page.created_at, zone)
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        page = await locked(session, page_id)
        if page.notified_at is not None:  # a twin of this run (a restart's job) got here first
            return
        page.shadow_note = page.shadow_note or note
        told = {m.anchor for m in await _messages(session, page_id)}
        due: list[notification_rules.Due] = []
        for user in (page.primary, page.shadow if page.shadow_note is None else None):
            if user and dm_anchor(page_id, user) not in told:
                _direct(session, ctx, page, user, now)
            if user:
                due += await notification_rules.queue(session, ctx, page, user, level=0, now=now)
        if channel_anchor(page_id) not in told:
            outbox.post(session, thread=channel_anchor(page_id), anchor=channel_anchor(page_id),
                        channel=rotation.channel, message=_render(ctx, page, None), now=now)
        page.notified_at = now
        session.add(page)
    notification_rules.schedule(ctx, due)


async def queue_escalation(session: AsyncSession, ctx: AppContext, page: Page, *, level: int, target: str,
                           now: datetime) -> list[notification_rules.Due]:
    """In the escalation's transaction: show it on every message, DM the target, note it in the channel's thread,
    and plan the target's notification rules (returned, to schedule once committed)."""
    assert page.id is not None
    rotation = ctx.config.rotations[page.rotation]
    messages = await _messages(session, page.id)
    _edit_all(session, ctx, page, messages, now)
    if dm_anchor(page.id, target) not in {m.anchor for m in messages}:
        _direct(session, ctx, page, target, now)
    note = ctx.oncall_view.escalation_note(page, level=level, target=target, waited=rotation.escalation.ack_within)
    post = next((m for m in messages if m.anchor == channel_anchor(page.id) and m.state != OutboxState.FAILED), None)
    if post is not None:
        outbox.reply(session, thread=post.thread, reply_to=channel_anchor(page.id), channel=post.channel,
                     message=note, now=now)
    else:  # the page's round has not been queued yet (it escalated at once): the note stands on its own
        outbox.post(session, thread=channel_anchor(page.id), channel=rotation.channel, message=note, now=now)
    return await notification_rules.queue(session, ctx, page, target, level=level, now=now)


async def queue_edits(session: AsyncSession, ctx: AppContext, page: Page, *, now: datetime) -> None:
    """In the transaction that changed `page` (an ack, a resolve): re-render every message queued for it."""
    assert page.id is not None
    _edit_all(session, ctx, page, await _messages(session, page.id), now)


async def locked(session: AsyncSession, page_id: int) -> Page:
    return (await session.exec(select(Page).where(Page.id == page_id).with_for_update())).one()


async def record_posted(session: AsyncSession, anchor: str, delivered: Delivered, *, at: datetime) -> None:
    """Outbox hook: a page message landed; remember where, for its edits and for who was reached."""
    parsed = parse_anchor(anchor)
    page = await session.get(Page, parsed[0]) if parsed is not None else None
    if parsed is None or page is None or page.id is None:
        return
    known = (await session.exec(select(PageNotification.id).where(
        PageNotification.page_id == page.id, PageNotification.channel == delivered.channel))).first()
    if known is not None:
        return
    role, level = role_of(page, parsed[1])
    session.add(PageNotification(page_id=page.id, role=role, user=parsed[1], level=level, channel=delivered.channel,
                                 ts=delivered.ts, sent_at=at))


def register(ctx: AppContext) -> None:
    assert ctx.outbox is not None

    async def posted(session: AsyncSession, anchor: str, delivered: Delivered, _permalink: str | None) -> None:
        await record_posted(session, anchor, delivered, at=ctx.clock.now())

    ctx.outbox.on_anchored(PREFIX, posted)


async def _messages(session: AsyncSession, page_id: int) -> list[OutboxMessage]:
    """The page's DMs and channel post queued so far (sent, pending or refused), oldest first."""
    query = select(OutboxMessage).where(col(OutboxMessage.anchor).startswith(f"{PREFIX}{page_id}:", autoescape=True))
    return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())


def _direct(session: AsyncSession, ctx: AppContext, page: Page, user: str, now: datetime) -> None:
    assert page.id is not None
    outbox.direct(session, user=user, anchor=dm_anchor(page.id, user), message=_render(ctx, page, user), now=now)


def _edit_all(session: AsyncSession, ctx: AppContext, page: Page, messages: list[OutboxMessage],
              now: datetime) -> None:
    for message in messages:
        parsed = parse_anchor(message.anchor or "")
        if parsed is None or message.state == OutboxState.FAILED or message.kind == OutboxKind.UPDATE:
            continue
        outbox.update(session, thread=message.thread, target=message.anchor or "", channel=message.channel,
                      message=_render(ctx, page, parsed[1]), now=now)


def _render(ctx: AppContext, page: Page, user: str | None) -> outbox.Message:
    role, level = role_of(page, user)
    return ctx.oncall_view.page(page, runbook=runbook_for(ctx, page.service), role=role, level=level)
