"""`GET /calendar/{rotation}/{secret}.ics`: a rotation's private iCalendar feed (§2 `/oncall calendar`).

The secret is the rotation's `calendar_secret`, compared in constant time. A wrong secret and
an unknown rotation get the same 404, so the URL space says nothing about which rotations
exist. The feed covers a few past weeks and half a year ahead, with swaps, covers and absences
applied; people are shown by their Slack display names, looked up once an hour.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime, timedelta

from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.context import AppContext
from bot.oncall import ical
from bot.oncall.models import RotationRecord
from bot.oncall.roster import schedule

log = logging.getLogger(__name__)
PAST = timedelta(weeks=4)
AHEAD = timedelta(weeks=26)
NAMES_FOR = timedelta(hours=1)
NOT_FOUND = "no such calendar"


def add_routes(app: web.Application, ctx: AppContext) -> None:
    names: dict[str, tuple[datetime, str]] = {}

    async def display_name(user: str) -> str:
        cached = names.get(user)
        if cached and ctx.clock.now() - cached[0] < NAMES_FOR:
            return cached[1]
        try:
            found = (await ctx.slack.users_info(user=user)).get("user") or {}
        except SlackApiError as exc:
            log.warning("no display name for the calendar", extra={"error": exc.response.get("error")})
            return user
        profile = found.get("profile") or {}
        name = profile.get("display_name") or found.get("real_name") or found.get("name") or user
        names[user] = (ctx.clock.now(), name)
        return str(name)

    async def feed(request: web.Request) -> web.StreamResponse:
        rotation, secret = request.match_info["rotation"], request.match_info["secret"]
        async with ctx.db.session() as session:
            record = await session.get(RotationRecord, rotation) if rotation in ctx.config.rotations else None
        expected = record.calendar_secret if record is not None else "-"
        if not hmac.compare_digest(secret.encode(), expected.encode()) or record is None:
            raise web.HTTPNotFound(text=NOT_FOUND)
        now = ctx.clock.now()
        shifts = await schedule(ctx, rotation, now - PAST, now + AHEAD)
        people = sorted({p for s in shifts for p in (s.primary, s.shadow) if p})
        body = ical.calendar(rotation, shifts, {p: await display_name(p) for p in people}, now=now)
        return web.Response(body=body.encode(), headers={
            "Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "private, max-age=300",
            "Content-Disposition": f'inline; filename="{rotation}.ics"'})

    app.router.add_get("/calendar/{rotation}/{secret}.ics", feed)

