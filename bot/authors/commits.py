"""The commits a release brings, kept from its change preview, and which of their authors are people.

Kept in the transaction that stores the preview on the release, once per release (a resumed
gating pass finds them there and adds nothing). A first release to an environment has no base to
compare with: the only commit known is the release's own, with no author.
"""

from __future__ import annotations

import re

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.authors.models import ReleaseCommit
from bot.providers.base import ChangePreview

# Bots and no-reply addresses are never told: nobody reads them (GitHub's `…[bot]` apps, `noreply@`,
# `ID+login@users.noreply.github.com`, GitLab's `noreply@` service accounts).
_NO_REPLY = re.compile(r"(^|[.+_-])no-?reply([.+_-]|@)|@users\.noreply\.|@noreply\.", re.IGNORECASE)


def is_bot_author(name: str, email: str | None) -> bool:
    """A commit author nobody should be DMed for: a bot, or an address that takes no mail."""
    if name.strip().lower().endswith("[bot]"):
        return True
    return email is not None and (_NO_REPLY.search(email) is not None or "[bot]" in email.lower())


def normal_email(email: str | None) -> str | None:
    """Addresses compare case-insensitively (Slack's lookup does too)."""
    cleaned = (email or "").strip().lower()
    return cleaned if "@" in cleaned and len(cleaned) <= 320 else None


async def keep(session: AsyncSession, release_id: int, preview: ChangePreview) -> None:
    """Store the preview's commits for the release, unless they already are."""
    if (await session.exec(select(ReleaseCommit.id).where(ReleaseCommit.release_id == release_id))).first():
        return
    seen: set[str] = set()
    for position, commit in enumerate(preview.commits):
        if not commit.sha or commit.sha in seen:
            continue
        seen.add(commit.sha)
        session.add(ReleaseCommit(release_id=release_id, position=position, sha=commit.sha[:64],
                                  title=commit.title[:255], author_name=commit.author[:255],
                                  author_email=normal_email(commit.author_email), committed_at=commit.committed_at))


async def of_release(session: AsyncSession, release_id: int) -> list[ReleaseCommit]:
    query = select(ReleaseCommit).where(ReleaseCommit.release_id == release_id).order_by(col(ReleaseCommit.position))
    return list((await session.exec(query)).all())
