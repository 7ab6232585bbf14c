"""The words of an author's DM: where their change runs now and since when, in their own time zone
(named, so nobody wonders whose 14:05 it is), with the thread link — or why it was rolled back or
failed. Rendered when the DM is queued, so the outbox sends exactly what was decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.authors.models import NoticeOutcome, ReleaseCommit
from bot.authors.where import Carrier
from bot.release.models import Release

MAX_COMMITS_SHOWN = 5
Message = tuple[str, list[dict[str, object]]]


def local_time(instant: datetime | None, zone: str | None) -> str:
    """`Mon 7 Dec 15:05 CET (Europe/Berlin)`; UTC when the person's zone is unknown."""
    if instant is None:
        return "an unknown time"
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    local = instant.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()} ({zone or 'UTC'})"


def link(release: Release) -> str:
    permalink = (release.detail or {}).get("permalink")
    return f"<{permalink}|release #{release.id}>" if permalink else f"release #{release.id}"


@dataclass(frozen=True)
class DmFacts:
    """Everything a DM says, gathered in the transaction that queues it."""

    outcome: NoticeOutcome
    release: Release
    commits: list[ReleaseCommit]  # the author's commits in the release
    zone: str | None
    carriers: list[Carrier]  # where the release's commit runs now (for `live`)
    why: str  # why it was rolled back, or what failed
    undone_at: datetime | None = None
    undone_by: Release | None = None  # the rollback


def render(facts: DmFacts) -> Message:
    r = facts.release
    where = f"*{r.service} {r.environment}*"
    if facts.outcome == NoticeOutcome.LIVE:
        head = f":rocket: Your change is live in {where} since {local_time(r.verified_at, facts.zone)}."
        others = [c for c in facts.carriers if (c.service, c.environment) != (r.service, r.environment)]
        if others:
            head += " It also runs in " + ", ".join(
                f"*{c.environment}* (since {local_time(c.since, facts.zone)}, {link(c.brought_by)})"
                for c in others) + "."
    elif facts.outcome == NoticeOutcome.ROLLED_BACK:
        by = f" by {link(facts.undone_by)}" if facts.undone_by else ""
        head = (f":leftwards_arrow_with_hook: Your change was rolled back in {where} at "
                f"{local_time(facts.undone_at or r.rolled_back_at, facts.zone)}{by}; it no longer runs there.\n"
                f"*Why:* {facts.why}")
    else:
        head = (f":x: Your change failed verification in {where} at {local_time(r.detected_at, facts.zone)} and "
                f"does not run there.\n*What failed:* {facts.why}")
    shown = facts.commits[:MAX_COMMITS_SHOWN]
    lines = [f"• `{c.sha[:10]}` {c.title}" for c in shown]
    if len(facts.commits) > len(shown):
        lines.append(f"• …and {len(facts.commits) - len(shown)} more")
    text = "\n".join([head, *lines, f"Thread: {link(r)} (`{r.ref}`, requested by <@{r.requested_by}>)"])
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]
