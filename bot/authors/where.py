"""Which environments carry a commit (`/deploy where SHA|REF`), and where my recent changes run.

An environment carries a commit when the release running there (its current verified release)
is of that commit or brought it, or the release it was deployed over carried it, and so on back:
each release's change preview names its base (what ran before) and the commits it brought, and a
rollback carries what the release it went back to carried. Nothing is asked of the provider, so
the answer is what Switchman recorded: a commit deployed before Switchman, or beyond a preview's
first page (GitHub lists 250 commits at most), is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.authors.models import ReleaseCommit
from bot.config.models import SwitchmanConfig
from bot.release.models import EnvironmentState, Release, ReleaseKind

MAX_CHAIN = 500  # releases walked back per environment; a longer history is cut short there


@dataclass(frozen=True)
class Carrier:
    """`environment` of `service` runs the commit: `brought_by` put it there, `running` runs now."""

    service: str
    environment: str
    brought_by: Release
    running: Release

    @property
    def since(self) -> datetime | None:
        return self.brought_by.verified_at or self.brought_by.finished_at


async def carriers(session: AsyncSession, config: SwitchmanConfig, sha: str) -> list[Carrier]:
    """Every configured environment that runs `sha` now, in config order."""
    found: list[Carrier] = []
    first = await _first_seen(session, sha)
    if first is None:
        return found  # no release was of it or brought it: nothing can carry it
    for service_name, service in config.services.items():
        for env in service.environments:
            carrier = await carrier_in(session, service_name, env, sha, first_seen=first)
            if carrier is not None:
                found.append(carrier)
    return found


async def carrier_in(session: AsyncSession, service: str, environment: str, sha: str, *,
                     first_seen: int = 0) -> Carrier | None:
    """Whether the environment runs `sha`; releases older than `first_seen` (the first release that was of
    it or brought it) cannot have, so the walk back stops there."""
    state = await session.get(EnvironmentState, (service, environment))
    if state is None or state.current_release_id is None:
        return None
    running = await session.get(Release, state.current_release_id)
    release = running
    for _ in range(MAX_CHAIN):
        if release is None or (release.id or 0) < first_seen:
            return None
        if release.kind == ReleaseKind.ROLLBACK:
            release = await _verified_before(session, release, release.sha)
            continue
        if release.sha == sha or await _brought(session, release.id or 0, sha):
            assert running is not None
            return Carrier(service, environment, release, running)
        base = ((release.detail or {}).get("change") or {}).get("base_sha")
        release = await _verified_before(session, release, base if isinstance(base, str) else None)
    return None


async def _first_seen(session: AsyncSession, sha: str) -> int | None:
    brought = (await session.exec(select(func.min(ReleaseCommit.release_id)).where(ReleaseCommit.sha == sha))).one()
    released = (await session.exec(select(func.min(Release.id)).where(Release.sha == sha))).one()
    ids = [i for i in (brought, released) if isinstance(i, int)]
    return min(ids) if ids else None


async def _brought(session: AsyncSession, release_id: int, sha: str) -> bool:
    return (await session.exec(select(ReleaseCommit.id).where(ReleaseCommit.release_id == release_id,
                                                              ReleaseCommit.sha == sha))).first() is not None


async def _verified_before(session: AsyncSession, release: Release, sha: str | None) -> Release | None:
    """The latest release of `sha` that was verified in the same environment before `release`."""
    if not sha:
        return None
    query = (select(Release).where(Release.service == release.service, Release.environment == release.environment,
                                   Release.sha == sha, col(Release.id) < (release.id or 0),
                                   col(Release.verified_at).is_not(None))
             .order_by(col(Release.id).desc()).limit(1))
    found: Release | None = (await session.exec(query)).first()
    return found


async def commits_named(session: AsyncSession, prefix: str) -> list[str]:
    """The distinct full commit SHAs Switchman recorded (released, or brought by a release) starting with `prefix`."""
    pattern = prefix.lower() + "%"
    brought = (await session.exec(select(ReleaseCommit.sha).where(col(ReleaseCommit.sha).like(pattern))
                                  .distinct().limit(10))).all()
    released = (await session.exec(select(Release.sha).where(col(Release.sha).like(pattern))
                                   .distinct().limit(10))).all()
    return sorted({s for s in [*brought, *released] if s})


async def commit_of_ref(session: AsyncSession, ref: str) -> Release | None:
    """The latest release of `ref` (what that ref named when it was last released)."""
    query = (select(Release).where(Release.ref == ref, col(Release.sha).is_not(None),
                                   Release.kind == ReleaseKind.DEPLOY)
             .order_by(col(Release.id).desc()).limit(1))
    found: Release | None = (await session.exec(query)).first()
    return found


@dataclass(frozen=True)
class MyCommit:
    commit: ReleaseCommit
    service: str


async def recent_commits_by(session: AsyncSession, emails: list[str], limit: int) -> list[MyCommit]:
    """The latest commits (by the releases that brought them) authored under any of `emails`, each once."""
    if not emails:
        return []
    rows = (await session.exec(select(ReleaseCommit, Release).where(
        col(ReleaseCommit.author_email).in_(emails), ReleaseCommit.release_id == Release.id)
        .order_by(col(Release.id).desc(), col(ReleaseCommit.position).desc()).limit(limit * 20))).all()
    seen: set[tuple[str, str]] = set()
    mine: list[MyCommit] = []
    for commit, release in rows:
        if (release.service, commit.sha) in seen:
            continue
        seen.add((release.service, commit.sha))
        mine.append(MyCommit(commit, release.service))
        if len(mine) == limit:
            break
    return mine


MAX_UNDONE = 50  # releases one rollback is taken to have undone, at most


async def undone_by(session: AsyncSession, bad: Release, rollback: Release | None) -> list[Release]:
    """The deploys a rollback of `bad` took out: `bad` (or, when `bad` was itself a rollback, the deploy it
    had brought back), and every deploy before it down to the commit the rollback went back to."""
    undone: list[Release] = []
    release: Release | None = bad
    for _ in range(MAX_UNDONE):
        if release is None or (rollback is not None and release.sha == rollback.sha):
            break
        if release.kind == ReleaseKind.ROLLBACK:
            release = await _verified_before(session, release, release.sha)
            continue
        undone.append(release)
        base = ((release.detail or {}).get("change") or {}).get("base_sha")
        if rollback is None or not isinstance(base, str):
            break
        release = await _verified_before(session, release, base)
    return undone


async def rollback_of(session: AsyncSession, bad: Release) -> Release | None:
    """The rollback of `bad` that succeeded (the latest, should there be several)."""
    query = (select(Release).where(Release.kind == ReleaseKind.ROLLBACK, Release.rollback_of == bad.id,
                                   col(Release.verified_at).is_not(None)).order_by(col(Release.id).desc()).limit(1))
    found: Release | None = (await session.exec(query)).first()
    return found
