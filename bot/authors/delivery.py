"""Delivering the DMs owed to authors: find each address's Slack person, then queue one DM per person.

Runs as a job on the leader, woken after an outcome records notices, and re-planned from the
table on start or takeover (`next_due`), so a restart loses nothing. For each pending notice:

- the person comes from `known_people` while fresh, else from `users.lookupByEmail` (then remembered,
  a miss included); a 429 holds every lookup for its `Retry-After`, a 5xx or timeout retries that
  notice with backoff, a refusal for good (`no_permission`, ...) skips it, logged;
- nobody (`users_not_found`) or a bot account: skipped, recorded and logged, never an error to anyone;
- otherwise the DM is rendered and queued in the outbox in the same transaction that marks the
  notice queued under its `dm_key` (release:outcome:person), which is unique: a second address of
  the same person, a job run twice, or a second replica cannot queue it again. The outbox then
  sends it as it sends everything (in order, paced, retried, never twice).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.authors import dm_text, people, where
from bot.authors.models import AuthorNotice, NoticeOutcome, NoticeState, ReleaseCommit
from bot.authors.people import PeopleLookup, Person
from bot.clock import Clock
from bot.config.models import SwitchmanConfig
from bot.ledger.models import Decision, DecisionKind
from bot.outbox import queue as outbox
from bot.outbox.sender import backoff
from bot.outbox.wire import RateLimited, Refused, Unavailable
from bot.release.models import Release
from bot.storage.database import Database

log = logging.getLogger(__name__)
BATCH = 100  # notices handled per run; the next run follows at once when more are due


async def next_due(db: Database) -> datetime | None:
    """When the earliest pending notice may be tried (its retry time, or its creation)."""
    async with db.session() as session:
        row = (await session.exec(select(func.min(func.coalesce(AuthorNotice.next_attempt_at, AuthorNotice.created_at)))
                                  .where(AuthorNotice.state == NoticeState.PENDING))).one()
    value = row[0] if isinstance(row, tuple) else row
    return value if isinstance(value, datetime) else None


async def deliver_due(db: Database, config: SwitchmanConfig, lookup: PeopleLookup, clock: Clock) -> int:
    """Handle every notice due now (up to BATCH); returns how many were settled (queued or skipped)."""
    now = clock.now()
    async with db.session() as session:
        due = list((await session.exec(select(AuthorNotice).where(
            AuthorNotice.state == NoticeState.PENDING,
            col(AuthorNotice.next_attempt_at).is_(None) | (col(AuthorNotice.next_attempt_at) <= now))
            .order_by(col(AuthorNotice.id)).limit(BATCH))).all())
    settled = 0
    # Everyone first, then the DMs: a person with two addresses gets one DM listing the commits of both.
    found: list[tuple[AuthorNotice, Person | None]] = []
    for notice in due:
        try:
            found.append((notice, await _person(db, lookup, notice.email, now=clock.now())))
        except RateLimited as exc:
            await _hold_all(db, clock.now() + timedelta(seconds=exc.retry_after), "ratelimited")
            break
        except Unavailable as exc:
            await _retry(db, notice, clock.now(), exc.code)
        except Refused as exc:
            log.warning("slack refused an author lookup; the author is not told",
                        extra={"notice": notice.id, "release_id": notice.release_id, "error": exc.code})
            await _settle(db, notice, NoticeState.REFUSED, clock.now(), error=exc.code)
            settled += 1
    for notice, person in found:
        try:
            settled += await _queue_dm(db, config, notice.id or 0, person, now=clock.now())
        except IntegrityError:  # the same person's DM was queued by a concurrent run: nothing more to do
            await _settle(db, notice, NoticeState.SAME_PERSON, clock.now())
            settled += 1
    return settled


async def _person(db: Database, lookup: PeopleLookup, email: str, *, now: datetime) -> Person | None:
    async with db.session() as session:
        known = await people.cached(session, email, now=now)
    if known is not None:
        return known.person
    person = await lookup.by_email(email)
    try:
        async with db.session() as session:
            await people.remember(session, email, person, now=now)
    except IntegrityError:
        pass  # remembered meanwhile by a concurrent run: the same answer
    return person


async def _queue_dm(db: Database, config: SwitchmanConfig, notice_id: int, person: Person | None, *,
                    now: datetime) -> int:
    async with db.session() as session:
        notice = await session.get(AuthorNotice, notice_id)
        if notice is None or notice.state != NoticeState.PENDING:
            return 0  # settled meanwhile
        release = await session.get(Release, notice.release_id)
        if person is None or release is None:
            log.info("commit author unknown to slack; not told", extra={"notice": notice_id,
                                                                        "release_id": notice.release_id})
            _mark(session, notice, NoticeState.UNKNOWN, now)
            return 1
        if person.is_bot:
            _mark(session, notice, NoticeState.BOT, now)
            return 1
        key = f"{notice.release_id}:{notice.outcome}:{person.user_id}"
        twin = (await session.exec(select(AuthorNotice.id).where(AuthorNotice.dm_key == key))).first()
        if twin is not None:  # another address of the same person: one DM per person per release outcome
            _mark(session, notice, NoticeState.SAME_PERSON, now, user=person.user_id)
            return 1
        emails = await _addresses_of(session, notice, person.user_id)
        facts = await _facts(session, config, notice, release, emails, person.tz)
        outbox.direct(session, user=person.user_id, message=dm_text.render(facts), now=now,
                      owner=f"author:{notice.id}")
        _mark(session, notice, NoticeState.QUEUED, now, user=person.user_id)
        notice.dm_key = key
        await session.flush()  # the unique dm_key is checked here, inside this transaction
    return 1


async def _addresses_of(session: AsyncSession, notice: AuthorNotice, user_id: str) -> set[str]:
    """Every address of this person among the release's notices: their DM lists all their commits."""
    known = set(await people.emails_of_user(session, user_id))
    return known | {notice.email}


async def _facts(session: AsyncSession, config: SwitchmanConfig, notice: AuthorNotice, release: Release,
                 emails: set[str], zone: str | None) -> dm_text.DmFacts:
    outcome = NoticeOutcome(notice.outcome)
    carriers: list[where.Carrier] = []
    why, undone_by, releases = "", None, [release]
    if outcome == NoticeOutcome.LIVE and release.sha:
        carriers = await where.carriers(session, config, release.sha)
    elif outcome == NoticeOutcome.ROLLED_BACK:
        undone_by = await where.rollback_of(session, release)
        releases = await where.undone_by(session, release, undone_by)
        why = (undone_by.reason if undone_by and undone_by.reason else "") or "rolled back"
    else:
        why = await _failure(session, release)
    order = {r.id: i for i, r in enumerate(reversed(releases))}  # oldest release first, as previews list
    commits = sorted((await session.exec(select(ReleaseCommit).where(
        col(ReleaseCommit.release_id).in_([r.id for r in releases]),
        col(ReleaseCommit.author_email).in_(sorted(emails))))).all(),
        key=lambda c: (order.get(c.release_id, 0), c.position))
    return dm_text.DmFacts(outcome, release, commits, zone, carriers, why,
                           undone_at=release.rolled_back_at, undone_by=undone_by)


async def _failure(session: AsyncSession, release: Release) -> str:
    """What verification found, from the ledger's failed stage result; else the outcome's summary."""
    rows = (await session.exec(select(Decision).where(Decision.release_id == release.id, col(Decision.kind).in_(
        [DecisionKind.STAGE_RESULT, DecisionKind.OUTCOME])).order_by(col(Decision.seq).desc()))).all()
    for row in rows:
        checks = (row.evidence or {}).get("checks") if row.kind == DecisionKind.STAGE_RESULT else None
        if row.outcome == "failed" and isinstance(checks, dict):
            failed = [f"{name}: {c.get('evidence')}" for name, c in checks.items()
                      if isinstance(c, dict) and c.get("verdict") == "fail"]
            if failed:
                return "; ".join(failed)
    outcome = next((r for r in rows if r.kind == DecisionKind.OUTCOME), None)
    return str((outcome.evidence or {}).get("summary") or "verification failed") if outcome else "verification failed"


def _mark(session: AsyncSession, notice: AuthorNotice, state: NoticeState, now: datetime, *,
          user: str | None = None, error: str | None = None) -> None:
    notice.state, notice.done_at, notice.next_attempt_at = state, now, None
    notice.slack_user = user or notice.slack_user
    notice.last_error = error[:255] if error else notice.last_error
    session.add(notice)


async def _settle(db: Database, notice: AuthorNotice, state: NoticeState, now: datetime, *,
                  error: str | None = None) -> None:
    async with db.session() as session:
        found = await session.get(AuthorNotice, notice.id)
        if found is not None and found.state == NoticeState.PENDING:
            _mark(session, found, state, now, error=error)


async def _retry(db: Database, notice: AuthorNotice, now: datetime, error: str) -> None:
    async with db.session() as session:
        found = await session.get(AuthorNotice, notice.id)
        if found is None or found.state != NoticeState.PENDING:
            return
        found.attempts += 1
        found.next_attempt_at, found.last_error = now + timedelta(seconds=backoff(found.attempts)), error[:255]
        session.add(found)


async def _hold_all(db: Database, until: datetime, error: str) -> None:
    """Slack rate-limits the lookup method as a whole: every pending notice waits until `until`."""
    async with db.session() as session:
        rows = (await session.exec(select(AuthorNotice).where(AuthorNotice.state == NoticeState.PENDING))).all()
        for row in rows:
            if row.next_attempt_at is None or row.next_attempt_at < until:
                row.next_attempt_at, row.last_error = until, error
                session.add(row)
