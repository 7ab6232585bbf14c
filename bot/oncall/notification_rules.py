"""Carrying out `people:` notification rules for a page (§6): which SMS, calls and emails are due when.

When a page pages someone — its primary and (within their hours) its shadow when it opens, an
escalation target when it reaches them — each of that person's rules other than `slack` becomes a
`page_contacts` row due `after` later, written in the transaction that pages them. The Slack DM is
not a row: it goes out at once through the outbox whatever the rules say. After the commit each row
gets a job (`page-contact-<id>`); on start, `plan` re-schedules every row still due, so rows survive
restarts. An acknowledgement or a resolve cancels the rows not yet sent in its own transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppContext
from bot.notify.phones import last_four
from bot.oncall.models import ContactStatus, Page, PageContact

JOB = "page_contact"
Due = tuple[int, datetime]  # (page_contacts id, when it is due)


def job_id(contact_id: int) -> str:
    return f"page-contact-{contact_id}"


async def queue(session: AsyncSession, ctx: AppContext, page: Page, user: str, *, level: int,
                now: datetime) -> list[Due]:
    """In the transaction that pages `user`: one row per rule of theirs not yet planned for this page."""
    assert page.id is not None
    person = ctx.config.person(user)
    planned = {(r.method, r.after_seconds) for r in (await session.exec(select(PageContact).where(
        PageContact.page_id == page.id, PageContact.user == user))).all()}
    rows = []
    for rule in person.notify:
        after = int(rule.after.total_seconds())
        if rule.method == "slack" or (rule.method, after) in planned:
            continue
        planned.add((rule.method, after))
        destination = (person.email or "") if rule.method == "email" else last_four(person.phone or "")
        row = PageContact(page_id=page.id, user=user, method=rule.method, after_seconds=after, level=level,
                          destination=destination, due_at=now + rule.after)
        session.add(row)
        rows.append(row)
    if rows:
        await session.flush()
    return [(r.id, r.due_at) for r in rows if r.id is not None]


def schedule(ctx: AppContext, due: list[Due]) -> None:
    """After the commit that wrote the rows: a job for each."""
    for contact_id, at in due:
        ctx.scheduler.schedule(job_id(contact_id), at, JOB, contact_id=contact_id)


async def cancel_pending(session: AsyncSession, page_id: int, *, now: datetime) -> list[int]:
    """In an ack's or a resolve's transaction: nothing more goes out for this page."""
    pending = list((await session.exec(select(PageContact.id).where(
        PageContact.page_id == page_id, PageContact.status == ContactStatus.SCHEDULED))).all())
    if pending:
        await session.exec(update(PageContact).where(col(PageContact.id).in_(pending),
                                                     col(PageContact.status) == ContactStatus.SCHEDULED)
                           .values(status=ContactStatus.CANCELLED, finished_at=now))
    return [i for i in pending if i is not None]


def unschedule(ctx: AppContext, contact_ids: list[int]) -> None:
    for contact_id in contact_ids:
        ctx.scheduler.cancel(job_id(contact_id))


async def plan(ctx: AppContext) -> int:
    """On start: schedule every row still due. A row caught sending by the last process's end may not have
    gone out; it is sent again, as a page texted twice beats a page never texted."""
    async with ctx.db.session() as session:
        await session.exec(update(PageContact).where(col(PageContact.status) == ContactStatus.SENDING)
                           .values(status=ContactStatus.SCHEDULED))
        rows = (await session.exec(select(PageContact).where(PageContact.status == ContactStatus.SCHEDULED)
                                   .order_by(col(PageContact.id)))).all()
    due = [(r.id, r.due_at) for r in rows if r.id is not None]
    schedule(ctx, due)
    return len(due)


async def contacts_of(session: AsyncSession, page_id: int) -> list[PageContact]:
    query = select(PageContact).where(PageContact.page_id == page_id)
    return list((await session.exec(query.order_by(col(PageContact.due_at), col(PageContact.id)))).all())
