"""`/oncall page ID`: a page's state and every notification it sent — Slack messages as the outbox
posted them, and each SMS, call and email with its outcome (sent with the provider's id, failed with
the reason, still due, or cancelled by the ack). Times are in the reader's own zone.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.context import AppContext
from bot.oncall import notification_rules
from bot.oncall.alert_models import NotificationRole, PageNotification
from bot.oncall.display import local_time
from bot.oncall.models import ContactStatus, Page, PageContact
from bot.oncall.paging import get_page

METHODS = {"sms": "SMS", "voice": "call", "email": "email"}


async def describe(ctx: AppContext, page_id: int, *, reader: str) -> str:
    page = await get_page(ctx, page_id)
    zone = await ctx.directory.time_zone_or(reader, "UTC")
    async with ctx.db.session() as session:
        posted = list((await session.exec(select(PageNotification).where(PageNotification.page_id == page_id)
                                          .order_by(col(PageNotification.sent_at), col(PageNotification.id)))).all())
        contacts = await notification_rules.contacts_of(session, page_id)
    who = ctx.oncall_view.who
    lines = [f"*Page #{page.id}* in `{page.rotation}`: {page.title}",
             f"Status: *{page.status}* · opened {local_time(page.created_at, zone)} by "
             f"{who(page.opened_by) if page.opened_by else page.source}"]
    lines.append(f"Primary {who(page.primary)}" + (f" · shadow {who(page.shadow)}" if page.shadow else "")
                 + (f" (not paged: {page.shadow_note})" if page.shadow and page.shadow_note else ""))
    if page.escalated_to:
        lines.append(f"Escalated to level {page.escalation_level}: {', '.join(who(u) for u in page.escalated_to)}")
    if page.seen_by:
        lines.append(f"Seen by {who(page.seen_by)} at {local_time(page.seen_at or page.created_at, zone)}")
    if page.acked_by:
        lines.append(f"Acknowledged by {who(page.acked_by)} at {local_time(page.acked_at or page.created_at, zone)}")
    if page.resolved_by:
        lines.append(f"Resolved by {who(page.resolved_by)} at "
                     f"{local_time(page.resolved_at or page.created_at, zone)}")
    lines.append("*Notifications*")
    lines += [_slack_line(ctx, n, zone) for n in posted]
    lines += [_contact_line(ctx, page, c, zone) for c in contacts]
    if not posted and not contacts:
        lines.append("• none yet")
    return "\n".join(lines)


def _slack_line(ctx: AppContext, posted: PageNotification, zone: str) -> str:
    if posted.role == NotificationRole.CHANNEL:
        return f"• Slack: the channel post, {local_time(posted.sent_at, zone)}"
    level = f", level {posted.level}" if posted.level else ""
    return (f"• Slack DM to {ctx.oncall_view.who(posted.user)} ({posted.role}{level}), "
            f"{local_time(posted.sent_at, zone)}")


def _contact_line(ctx: AppContext, page: Page, contact: PageContact, zone: str) -> str:
    what = f"{METHODS.get(contact.method, contact.method)} to {ctx.oncall_view.who(contact.user)} " \
           f"({contact.destination})"
    match contact.status:
        case ContactStatus.SENT:
            outcome = f"sent {local_time(contact.finished_at or contact.due_at, zone)} (id `{contact.provider_id}`)"
        case ContactStatus.FAILED:
            outcome = f"*failed* {local_time(contact.finished_at or contact.due_at, zone)}: {contact.error}"
        case ContactStatus.CANCELLED:
            outcome = f"cancelled (was due {local_time(contact.due_at, zone)}; the page was {page.status} first)"
        case ContactStatus.SENDING:
            outcome = f"sending since {local_time(contact.attempted_at or contact.due_at, zone)}"
        case _:
            outcome = f"due {local_time(contact.due_at, zone)}"
    return f"• {what}: {outcome}"
