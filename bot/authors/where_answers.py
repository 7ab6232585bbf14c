"""Answers to `/deploy where SHA|REF|me` (§2), as mrkdwn text.

Dates are `<!date>` tokens (`ctx.release_view.date`), which Slack shows in each reader's own zone.
"""

from __future__ import annotations

import re

from bot.authors import people, where
from bot.authors.commits import normal_email
from bot.authors.dm_text import link
from bot.authors.people import PeopleLookup
from bot.context import AppContext
from bot.outbox.wire import WireError

HEX = re.compile(r"[0-9a-fA-F]{7,40}")
MY_COMMITS = 5


async def commit(ctx: AppContext, asked: str) -> str:
    """Which environments run the commit `asked` names (a SHA prefix, or a ref Switchman released)."""
    async with ctx.db.session() as session:
        if HEX.fullmatch(asked):
            shas = await where.commits_named(session, asked)
            if len(shas) > 1:
                return (f"`{asked}` is ambiguous: it starts " + ", ".join(f"`{s[:12]}`" for s in shas[:5])
                        + ". Give more of the SHA.")
            sha = shas[0] if shas else None
            named = f"`{asked[:10]}`"
        else:
            sha = None
        if sha is None and not HEX.fullmatch(asked):
            release = await where.commit_of_ref(session, asked)
            sha = release.sha if release else None
            named = f"`{asked}`" + (f" (`{sha[:10]}`, as of {link(release)})" if release and sha else "")
        if sha is None:
            return (f"Switchman has recorded no release of or with {named}: it knows the commits it released "
                    "and those their change previews listed. Check the SHA, or name a ref Switchman released.")
        carriers = await where.carriers(session, ctx.config, sha)
    if not carriers:
        return f"{named} does not run in any environment now (it was recorded, but nothing running carries it)."
    lines = [f"*Where {named} runs:*"]
    for service in dict.fromkeys(c.service for c in carriers):
        lines.append(f"*{service}*")
        lines += [_carrier_line(ctx, c) for c in carriers if c.service == service]
    return "\n".join(lines)


def _carrier_line(ctx: AppContext, c: where.Carrier) -> str:
    via = "" if c.running.id == c.brought_by.id else f"; now running {link(c.running)} `{c.running.ref}`"
    return f"• *{c.environment}* since {ctx.release_view.date(c.since)} — {link(c.brought_by)}{via}"


async def mine(ctx: AppContext, user: str, lookup: PeopleLookup) -> str:
    """My most recent commits (by my Slack profile's email, or the addresses Switchman matched to me)."""
    async with ctx.db.session() as session:
        emails = set(await people.emails_of_user(session, user))
    profile_error = ""
    try:
        found = normal_email(await lookup.email_of(user))
        if found:
            emails.add(found)
    except WireError as exc:
        profile_error = f" (Slack did not show your profile: `{exc.code}`)"
    if not emails:
        return ("I cannot tell which commits are yours: Slack shows Switchman no email address for you"
                f"{profile_error}, and no commit author has been matched to you yet. "
                "Try `/deploy where SHA`.")
    async with ctx.db.session() as session:
        recent = await where.recent_commits_by(session, sorted(emails), MY_COMMITS)
        if not recent:
            return (f"No release recorded by Switchman brought a commit by {', '.join(sorted(emails))} yet"
                    f"{profile_error}.")
        lines = [f"*Your {len(recent)} most recent change{'s' if len(recent) > 1 else ''} and where they run:*"]
        for item in recent:
            carriers = [c for c in await where.carriers(session, ctx.config, item.commit.sha)
                        if c.service == item.service]
            head = f"• `{item.commit.sha[:10]}` {item.commit.title} ({item.service})"
            if not carriers:
                lines.append(f"{head} — not running anywhere now")
            else:
                lines.append(head + " — " + ", ".join(
                    f"*{c.environment}* since {ctx.release_view.date(c.since)} ({link(c.brought_by)})"
                    for c in carriers))
    return "\n".join(lines)
