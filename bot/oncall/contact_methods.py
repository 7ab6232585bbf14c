"""Sending one planned SMS, call or email of a page, and recording what happened to it.

The job (`page_contact`) claims its row (scheduled → sending) in a conditional update, so two runs
of it (a restart, a second replica) send once; a page acknowledged or resolved meanwhile cancels it
instead. The sending happens in the background, outside any transaction; the outcome — sent with
the provider's id, or failed with the reason — is written to the row and shown by `/oncall page ID`.
Log lines name the person's Slack id and the last four digits of a number, never the number itself.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppContext
from bot.errors import ProviderError, new_correlation_id
from bot.notify.phones import mask_numbers
from bot.oncall import notification_rules
from bot.oncall.display import local_time
from bot.oncall.models import ContactStatus, Page, PageContact, PageStatus
from bot.oncall.page_notify import channel_anchor, runbook_for
from bot.outbox import queue as outbox

log = logging.getLogger(__name__)
MAX_TITLE_SPOKEN = 300
MAX_ERROR = 500


def register_jobs(ctx: AppContext) -> None:
    async def run(contact_id: int) -> None:
        await send(ctx, contact_id)

    ctx.scheduler.register(notification_rules.JOB, run)


async def send(ctx: AppContext, contact_id: int) -> None:
    """Send the row's message if its page still waits for an ack; record the outcome."""
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        row = await session.get(PageContact, contact_id)
        page = await session.get(Page, row.page_id) if row is not None else None
        if row is None or page is None or row.status != ContactStatus.SCHEDULED:
            return
        if page.status != PageStatus.TRIGGERED:
            await _finish(session, contact_id, ContactStatus.CANCELLED, now=now)
            return
        claimed = await session.exec(update(PageContact).where(
            col(PageContact.id) == contact_id, col(PageContact.status) == ContactStatus.SCHEDULED)
            .values(status=ContactStatus.SENDING, attempted_at=now))
        if claimed.rowcount != 1:
            return
        link = await outbox.anchor_of(session, channel_anchor(page.id or 0))
        permalink = link.permalink if link is not None else None
    ctx.background.spawn(_deliver(ctx, row, page, permalink), name=f"page-contact-{contact_id}")


async def _deliver(ctx: AppContext, row: PageContact, page: Page, permalink: str | None) -> None:
    assert row.id is not None
    person = ctx.config.person(row.user)
    status, provider_id, error = ContactStatus.SENT, None, None
    try:
        if ctx.contacts is None:
            raise ProviderError("SMS, calls and email are not set up in this process")
        match row.method:
            case "sms":
                provider_id = await ctx.contacts.sms(_phone(person.phone), sms_text(page, permalink))
            case "voice":
                provider_id = await ctx.contacts.call(_phone(person.phone), spoken_text(page))
            case "email":
                subject, body = email_text(ctx, page, permalink, zone=person.timezone or "UTC")
                provider_id = await ctx.contacts.email(person.email or "", subject, body)
            case _:
                raise ProviderError(f"{row.method!r} is not a contact method Switchman knows")
    except ProviderError as exc:
        status, error = ContactStatus.FAILED, mask_numbers(str(exc))[:MAX_ERROR]
    except Exception as exc:  # a defect, not the provider: the row must not stay "sending" until a restart
        correlation = new_correlation_id()
        # The frames but not the message: an exception's text may quote the phone number.
        log.error("page contact crashed", extra={"contact": row.id, "correlation_id": correlation,
                                                 "error_type": type(exc).__name__,
                                                 "traceback": "".join(traceback.format_tb(exc.__traceback__))})
        status, error = ContactStatus.FAILED, f"unexpected error ({type(exc).__name__}); correlation id {correlation}"
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        await _finish(session, row.id, status, now=now, provider_id=provider_id, error=error)
    ctx.metrics.notification(row.method, status)
    extra = {"page": row.page_id, "user": row.user, "method": row.method, "to": row.destination,
             "contact": row.id, "outcome": status}
    if status == ContactStatus.SENT:
        log.info("page contact sent", extra={**extra, "provider_id": provider_id})
    else:
        log.warning("page contact failed", extra={**extra, "error": error})


async def _finish(session: AsyncSession, contact_id: int, status: str, *, now: Any, provider_id: str | None = None,
                  error: str | None = None) -> None:
    found = (await session.exec(select(PageContact).where(PageContact.id == contact_id))).one()
    found.status, found.finished_at, found.provider_id, found.error = status, now, provider_id, error
    session.add(found)


def _phone(number: str | None) -> str:
    if not number:
        raise ProviderError("this person has no phone number in people: any more")
    return number


def _ack_hint(page: Page, permalink: str | None) -> str:
    hint = f"Ack in Slack: /oncall ack {page.id}"
    return f"{hint} or {permalink}" if permalink else hint


def sms_text(page: Page, permalink: str | None) -> str:
    return f"Switchman page #{page.id} ({page.rotation}): {page.title[:MAX_TITLE_SPOKEN]}. {_ack_hint(page, permalink)}"


def spoken_text(page: Page) -> str:
    return (f"Switchman page {page.id} for {page.rotation.replace('-', ' ')}. {page.title[:MAX_TITLE_SPOKEN]}. "
            f"Acknowledge it in Slack.")


def email_text(ctx: AppContext, page: Page, permalink: str | None, *, zone: str) -> tuple[str, str]:
    subject = f"[Switchman] Page #{page.id} ({page.rotation}): {page.title[:200]}"
    lines = [f"Page #{page.id}: {page.title}", "",
             f"Rotation: {page.rotation}", f"Status: {page.status}",
             f"Opened: {local_time(page.created_at, zone)} ({page.source})"]
    if page.service:
        lines.append(f"Service: {page.service}")
    runbook = runbook_for(ctx, page.service)
    lines.append(f"Runbook: {runbook}" if runbook else "Runbook: none configured for this service")
    details = detail_lines(page.details)
    if details:
        lines += ["", "Details:", *details]
    lines += ["", f"To acknowledge: type `/oncall ack {page.id}` in Slack, or press Ack on the page's message."]
    if permalink:
        lines.append(f"The page in Slack: {permalink}")
    lines += ["", "You get this email because your notification rules in Switchman's people: config ask for it."]
    return subject, "\n".join(lines) + "\n"


def detail_lines(details: dict[str, Any]) -> list[str]:
    """The page's details as plain text: empty values left out, one level of nesting spelled out, links as
    "text: url"."""
    lines = []
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, dict):
            lines += [f"  {key}.{k}: {_plain(v)}" for k, v in value.items() if v not in (None, "", [], {})]
        elif isinstance(value, list) and all(isinstance(v, dict) and ("href" in v or "src" in v) for v in value):
            lines += [f"  {key}: {v.get('text') or v.get('alt') or ''} {v.get('href') or v.get('src')}".rstrip()
                      for v in value]
        else:
            lines.append(f"  {key}: {_plain(value)}")
    return lines


def _plain(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
