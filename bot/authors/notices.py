"""Recording the DMs a release's outcome owes its commit authors, in the outcome's own transaction.

Due when a deploy succeeds (`live`), when a rollback of it succeeds (`rolled_back`), and when it
ends failed after its verification failed (`failed_verification`); a release stopped for its own
rollback is told once, when that rollback ends (the same moment its report is due). A rollback to
an older release also tells the authors of the releases deployed since, which it took out too.
One notice per author address per outcome: two commits by one author make one DM. Bot and no-reply
addresses are recorded as skipped. Who the address is in Slack is found afterwards (`delivery`),
never in here: this transaction makes no call.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.authors import where
from bot.authors.commits import is_bot_author, of_release
from bot.authors.models import AuthorNotice, NoticeOutcome, NoticeState, ReleaseCommit
from bot.release.models import Release, ReleaseKind, ReleaseState

WAKE = "authors.wake"  # session.info flag: notices were recorded; deliver them after the commit


def outcome_of(release: Release) -> NoticeOutcome | None:
    """What the authors of `release` are to be told about its final state, if anything."""
    if release.kind == ReleaseKind.DRILL:
        return None  # a rehearsal: it brings and takes out nothing for good
    if release.state == ReleaseState.ROLLED_BACK:
        return NoticeOutcome.ROLLED_BACK  # a rolled-back rollback takes out the deploy it had brought back
    if release.kind != ReleaseKind.DEPLOY:
        return None  # a rollback brings no new commits; the authors of what it undid are told
    if release.state == ReleaseState.SUCCEEDED:
        return NoticeOutcome.LIVE
    if release.state == ReleaseState.FAILED and release.detected_at is not None:
        return NoticeOutcome.FAILED_VERIFICATION
    return None


async def _commits(session: AsyncSession, release: Release, outcome: NoticeOutcome) -> list[ReleaseCommit]:
    """The commits whose authors are told: the release's, and for a rollback every undone release's."""
    if outcome != NoticeOutcome.ROLLED_BACK:
        return await of_release(session, release.id or 0)
    undone = await where.undone_by(session, release, await where.rollback_of(session, release))
    return [c for r in undone for c in await of_release(session, r.id or 0)]


async def record(session: AsyncSession, release: Release, *, now: datetime) -> list[AuthorNotice]:
    """One notice per author address of the release's commits for its outcome (none twice)."""
    outcome = outcome_of(release)
    if outcome is None or release.id is None:
        return []
    existing = set((await session.exec(select(AuthorNotice.email).where(
        AuthorNotice.release_id == release.id, AuthorNotice.outcome == outcome))).all())
    added: list[AuthorNotice] = []
    for commit in await _commits(session, release, outcome):
        email = commit.author_email
        if email is None or email in existing:
            continue
        existing.add(email)
        bot = is_bot_author(commit.author_name, email)
        notice = AuthorNotice(release_id=release.id, outcome=outcome, email=email, author_name=commit.author_name,
                              state=NoticeState.BOT if bot else NoticeState.PENDING, created_at=now,
                              done_at=now if bot else None)
        session.add(notice)
        added.append(notice)
    if any(n.state == NoticeState.PENDING for n in added):
        session.info[WAKE] = True
    return added
