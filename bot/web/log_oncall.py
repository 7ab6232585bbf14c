"""The on-call part of the web release log: each rotation with who holds it now, and past pages with
their timeline (opened, every notification, seen, acknowledged, escalated, resolved), newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.oncall.alert_models import PageNotification
from bot.oncall.models import Page, PageContact
from bot.oncall.roster import RosterSource, current_shift
from bot.oncall.shifts import Shift

PAGES: Table = Page.__table__  # type: ignore[attr-defined]
NOTIFICATIONS: Table = PageNotification.__table__  # type: ignore[attr-defined]
CONTACTS: Table = PageContact.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RotationNow:
    name: str
    timezone: str
    channel: str
    primaries: list[str]
    shadows: list[str]
    shift: Shift | None


async def rotations_now(ctx: RosterSource, *, now: datetime) -> list[RotationNow]:
    found = []
    for name, rotation in sorted(ctx.config.rotations.items()):
        found.append(RotationNow(name, rotation.timezone, rotation.channel, list(rotation.primaries),
                                 list(rotation.shadows), await current_shift(ctx, name, now)))
    return found


async def pages(session: AsyncSession, *, before: int | None, size: int) -> tuple[list[dict[str, Any]], int | None]:
    c = PAGES.c
    query = select(c.id, c.rotation, c.title, c.status, c.service, c.primary, c.shadow, c.created_at, c.acked_by,
                   c.resolved_at)
    if before is not None:
        query = query.where(c.id < before)
    rows = [dict(r) for r in (await (await session.connection()).execute(
        query.order_by(c.id.desc()).limit(size + 1))).mappings()]
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1]["id"] if more and rows else None)


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str


async def page_timeline(session: AsyncSession, page_id: int) -> tuple[dict[str, Any], list[Event]] | None:
    connection = await session.connection()
    page = (await connection.execute(select(PAGES).where(PAGES.c.id == page_id))).mappings().first()
    if page is None:
        return None
    events = [Event(page["created_at"], f"opened by {page['opened_by'] or page['source']}: primary "
                                        f"{page['primary'] or 'nobody'}"
                                        + (f", shadow {page['shadow']}" if page["shadow"] else ""))]
    for n in (await connection.execute(select(NOTIFICATIONS).where(NOTIFICATIONS.c.page_id == page_id))).mappings():
        to = "the rotation's channel" if n["user"] is None else f"{n['user']} ({n['role']})"
        events.append(Event(n["sent_at"], f"Slack message to {to}" + (f", level {n['level']}" if n["level"] else "")))
    for contact in (await connection.execute(select(CONTACTS).where(CONTACTS.c.page_id == page_id))).mappings():
        when = contact["finished_at"] or contact["attempted_at"] or contact["due_at"]
        events.append(Event(when, f"{contact['method']} to {contact['user']}: {contact['status']}"
                                  + (f" ({contact['error']})" if contact["error"] else "")))
    if page["seen_at"]:
        events.append(Event(page["seen_at"], f"seen by {page['seen_by']}"))
    if page["acked_at"]:
        events.append(Event(page["acked_at"], f"acknowledged by {page['acked_by']}"))
    if page["escalated_to"]:
        events.append(Event(page["next_escalation_at"] or page["created_at"],
                            f"escalated to level {page['escalation_level']}: {', '.join(page['escalated_to'])}"))
    if page["resolved_at"]:
        events.append(Event(page["resolved_at"], f"resolved by {page['resolved_by'] or 'someone'}"))
    return dict(page), sorted(events, key=lambda e: e.at)
