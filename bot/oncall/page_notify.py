"""Telling people about a page: DMs to the pair and to escalation targets, the channel post, updates.

Every message sent is recorded in `page_notifications` before the next one goes out, so a
repeated run (a restart re-sending an unfinished round) skips whoever already has theirs, and
acks and resolves can update each message in place. A person Slack refuses (say, a deactivated
account) is logged and skipped; the others still get their message.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.context import AppContext
from bot.oncall.alert_models import NotificationRole, PageNotification
from bot.oncall.models import Page
from bot.oncall.page_routing import shadow_excluded
from bot.slack.page_blocks import Message, escalation_note, page_message
from bot.slack.page_messages import PageMessages, Sent

log = logging.getLogger(__name__)


def runbook_for(ctx: AppContext, service: str | None) -> str | None:
    found = ctx.config.services.get(service) if service else None
    return found.runbook if found else None


async def _load(ctx: AppContext, page_id: int) -> tuple[Page | None, list[PageNotification]]:
    async with ctx.db.session() as session:
        page = await session.get(Page, page_id)
        rows = (await session.exec(select(PageNotification).where(PageNotification.page_id == page_id)
                                   .order_by(col(PageNotification.id)))).all()
    return page, list(rows)


async def notify_opened(ctx: AppContext, page_id: int) -> None:
    """DM the primary and (within their hours) the shadow, and post in the rotation's channel."""
    page, sent = await _load(ctx, page_id)
    if page is None or page.notified_at is not None:
        return
    rotation = ctx.config.rotations.get(page.rotation)
    if rotation is None:
        log.warning("page's rotation is no longer configured; nobody notified", extra={"page": page_id})
        return
    if page.shadow and page.shadow_note is None and not _has(sent, page.shadow):
        note = shadow_excluded(rotation, page.created_at, await _zone(ctx, page.shadow, rotation.timezone))
        if note is not None:
            page = await _set_shadow_note(ctx, page_id, note)
    recipients = [(NotificationRole.PRIMARY, page.primary)]
    if page.shadow_note is None:
        recipients.append((NotificationRole.SHADOW, page.shadow))
    complete = True
    for role, user in recipients:
        if user and not _has(sent, user):
            complete &= await _send(ctx, page, role=role, user=user, level=0)
    if not any(n.role == NotificationRole.CHANNEL for n in sent):
        complete &= await _send(ctx, page, role=NotificationRole.CHANNEL, user=None, level=0,
                                channel=rotation.channel)
    async with ctx.db.session() as session:
        row = await session.get(Page, page_id)
        if row is not None and complete:
            row.notified_at = ctx.clock.now()
            session.add(row)
    if row is not None and (row.status, row.escalated_to) != (page.status, page.escalated_to):
        await refresh(ctx, page_id)  # acked or escalated while the messages went out


async def notify_escalated(ctx: AppContext, page_id: int, *, level: int, target: str) -> None:
    """DM the escalation target, note it in the channel post's thread, and show it on every message."""
    page, sent = await _load(ctx, page_id)
    rotation = ctx.config.rotations.get(page.rotation) if page else None
    if page is None or rotation is None:
        return
    await _update_all(ctx, page, sent)  # everyone already told sees who it went to
    if not _has(sent, target):
        await _send(ctx, page, role=NotificationRole.ESCALATION, user=target, level=level)
    post = next((n for n in sent if n.role == NotificationRole.CHANNEL), None)
    note = escalation_note(page, level=level, target=target, waited=rotation.escalation.ack_within)
    try:
        await PageMessages(ctx.slack).post(post.channel if post else rotation.channel, note,
                                           thread_ts=post.ts if post else None)
    except SlackApiError as exc:
        log.warning("could not post the escalation note", extra={"page": page_id, "error": exc.response.get("error")})


async def refresh(ctx: AppContext, page_id: int) -> None:
    """Re-render every message of the page from its current state (buttons go as it is acked/resolved)."""
    page, sent = await _load(ctx, page_id)
    if page is not None:
        await _update_all(ctx, page, sent)


async def _update_all(ctx: AppContext, page: Page, sent: list[PageNotification]) -> None:
    runbook = runbook_for(ctx, page.service)
    messages = PageMessages(ctx.slack)
    for row in sent:
        try:
            await messages.update(Sent(row.channel, row.ts),
                                  page_message(page, runbook=runbook, role=row.role, level=row.level))
        except SlackApiError as exc:
            log.warning("could not update a page message",
                        extra={"page": page.id, "channel": row.channel, "error": exc.response.get("error")})


async def _send(ctx: AppContext, page: Page, *, role: str, user: str | None, level: int,
                channel: str | None = None) -> bool:
    assert page.id is not None
    message: Message = page_message(page, runbook=runbook_for(ctx, page.service), role=role, level=level)
    messages = PageMessages(ctx.slack)
    try:
        sent = await (messages.dm(user, message) if user else messages.post(channel or "", message))
    except SlackApiError as exc:
        log.warning("could not deliver a page message",
                    extra={"page": page.id, "role": role, "user": user, "error": exc.response.get("error")})
        return False
    try:
        async with ctx.db.session() as session:
            session.add(PageNotification(page_id=page.id, role=role, user=user, level=level, channel=sent.channel,
                                         ts=sent.ts, sent_at=ctx.clock.now()))
    except IntegrityError:
        log.info("page message already recorded for this conversation", extra={"page": page.id, "role": role})
    return True


async def _set_shadow_note(ctx: AppContext, page_id: int, note: str) -> Page:
    async with ctx.db.session() as session:
        page = await session.get(Page, page_id)
        assert page is not None
        page.shadow_note = note
        session.add(page)
    return page


async def _zone(ctx: AppContext, user: str, fallback: str) -> str:
    """The person's zone from Slack; the rotation's when Slack will not say (the primary is paged regardless)."""
    try:
        return await ctx.directory.time_zone(user)
    except SlackApiError as exc:
        log.warning("no time zone for the shadow; using the rotation's", extra={"error": exc.response.get("error")})
        return fallback


def _has(sent: list[PageNotification], user: str) -> bool:
    return any(n.user == user for n in sent)
