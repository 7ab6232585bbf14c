"""Escalating unacknowledged pages (§6): one scheduled job per open page, rebuilt from the database.

Levels: a page opens at level 0 (the pair). If nobody with the right to ack has acked
`escalation.ack_within` after it opened, level 1 pages `escalation.then[0]`; `ack_within` after
that, level 2 pages `then[1]`, and so on. After the last entry escalation stops — nobody is
paged twice — and the page stays open with everyone paged so far able to ack. A page opened
while the rotation has no primary escalates at once. Without `then`, pages never escalate.

The job (`page-escalate-<id>`) takes the page id and the level it is to reach; it does nothing
when the page is acked or resolved or already at that level, so a job run twice (a restart, a
second replica) pages nobody twice. The level and its target are committed with the target's DM
queued in the outbox, and `next_escalation_at` is the record of truth that `plan_jobs` re-schedules from on start.
Planning also re-schedules the SMS, calls and emails still due (`notification_rules`), and schedules
`page-notify-<id>` for open pages whose first round of messages was never
queued (a crash right after the webhook answered). Queued messages survive a restart in the outbox.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import col, select

from bot.context import AppContext
from bot.oncall import contact_methods, notification_rules, page_notify
from bot.oncall.models import Page, PageStatus

log = logging.getLogger(__name__)
JOB = "page_escalate"
NOTIFY_JOB = "page_notify"  # finishes a round of DMs a restart interrupted


def job_id(page_id: int) -> str:
    return f"page-escalate-{page_id}"


def first_step(ctx: AppContext, rotation: str, opened: datetime, primary: str | None) -> datetime | None:
    """When a page opened at `opened` first escalates (None: it never does)."""
    policy = ctx.config.rotations[rotation].escalation
    if not policy.then:
        return None
    return opened + policy.ack_within if primary else opened


def schedule(ctx: AppContext, page_id: int, at: datetime, *, level: int) -> None:
    ctx.scheduler.schedule(job_id(page_id), at, JOB, page_id=page_id, level=level)


def cancel(ctx: AppContext, page_id: int) -> None:
    ctx.scheduler.cancel(job_id(page_id))


def register_jobs(ctx: AppContext) -> None:
    async def run(page_id: int, level: int) -> None:
        await escalate(ctx, page_id=page_id, level=level)

    async def notify(page_id: int) -> None:
        await page_notify.notify_opened(ctx, page_id)

    ctx.scheduler.register(JOB, run)
    ctx.scheduler.register(NOTIFY_JOB, notify)
    contact_methods.register_jobs(ctx)
    page_notify.register(ctx)


async def plan_jobs(ctx: AppContext) -> None:
    """Re-schedule the next escalation of every open, unacknowledged page; notify pages never notified."""
    async with ctx.db.session() as session:
        pending = (await session.exec(select(Page).where(Page.status == PageStatus.TRIGGERED,
                                                         col(Page.next_escalation_at).is_not(None)))).all()
        unsent = (await session.exec(select(Page.id).where(Page.status == PageStatus.TRIGGERED,
                                                           col(Page.notified_at).is_(None)))).all()
    for page in pending:
        assert page.id is not None and page.next_escalation_at is not None
        schedule(ctx, page.id, page.next_escalation_at, level=page.escalation_level + 1)
    now = ctx.clock.now()
    for page_id in unsent:
        if page_id is not None:  # a job, not a task: it runs once the scheduler starts, after planning
            ctx.scheduler.schedule(f"page-notify-{page_id}", now, NOTIFY_JOB, page_id=page_id)
    contacts = await notification_rules.plan(ctx)
    if pending or unsent or contacts:
        log.info("page escalations planned", extra={"escalations": len(pending), "renotify": len(unsent),
                                                    "contacts": contacts})


async def escalate(ctx: AppContext, *, page_id: int, level: int) -> None:
    """Page level `level` of the escalation policy, if the page still needs it.

    The new level, the target's DM, the note in the channel's thread and the edits showing who it
    went to are one transaction.
    """
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        page = (await session.exec(select(Page).where(Page.id == page_id).with_for_update())).first()
        if page is None or page.status != PageStatus.TRIGGERED or page.escalation_level >= level:
            return
        rotation = ctx.config.rotations.get(page.rotation)
        if rotation is None or level > len(rotation.escalation.then):
            page.next_escalation_at = None
            session.add(page)
            return
        target = rotation.escalation.then[level - 1]
        page.escalation_level = level
        page.escalated_to = [*page.escalated_to, target]
        last = level == len(rotation.escalation.then)
        page.next_escalation_at = None if last else now + rotation.escalation.ack_within
        session.add(page)
        due = await page_notify.queue_escalation(session, ctx, page, level=level, target=target, now=now)
        next_at, rotation_name = page.next_escalation_at, page.rotation
    notification_rules.schedule(ctx, due)
    ctx.metrics.page_event("escalated", rotation_name)
    log.info("page escalated", extra={"page": page_id, "level": level})
    if next_at is not None:
        schedule(ctx, page_id, next_at, level=level + 1)
