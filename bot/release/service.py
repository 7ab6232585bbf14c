"""Release records: creating one per request, the per-environment queue, state changes, queries.

Exclusivity is enforced by the database (`uq_releases_one_active`): a new release is inserted as
in flight and, if another is already in flight to that environment, inserted as queued instead.
That holds across processes and replicas without an application lock. A Slack request's
`request_key` is unique too, so a retried delivery finds the release it already created.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.release import store
from bot.release.machine import Event
from bot.release.models import IN_FLIGHT, EnvironmentState, GateResult, Release, ReleaseKind, ReleaseState


@dataclass(frozen=True)
class Created:
    release: Release
    duplicate: bool  # the same Slack request was seen before; nothing new was created
    ahead: list[Release]  # releases that go before it (the one in flight first); empty when it starts now

    @property
    def queued(self) -> bool:
        return self.release.state == ReleaseState.QUEUED

    @property
    def stalled(self) -> bool:
        """Queued though nothing is in flight: whatever ended last did not move the queue on."""
        return self.queued and not any(ReleaseState(r.state).in_flight for r in self.ahead)


async def create_release(session: AsyncSession, *, service: str, environment: str, ref: str, sha: str,
                         strategy: str, requested_by: str, reason: str | None, request_key: str | None,
                         now: datetime, kind: ReleaseKind = ReleaseKind.DEPLOY, rollback_of: int | None = None,
                         channel_id: str | None = None) -> Created:
    """Insert a release as the environment's one in flight, or queued behind what is there.

    A deploy goes to the end of the queue whenever one exists, even if nothing is in flight at this
    instant (between one release ending and the next starting): the queue is first in, first out.
    Only a rollback takes a free environment ahead of the queue.
    """
    if request_key is not None:
        existing = (await session.exec(select(Release).where(Release.request_key == request_key))).first()
        if existing is not None:
            return Created(existing, duplicate=True, ahead=[])
    fields: dict[str, object] = dict(
        kind=kind, service=service, environment=environment, ref=ref, sha=sha, strategy=strategy,
        requested_by=requested_by, reason=reason, request_key=request_key, rollback_of=rollback_of,
        channel_id=channel_id, created_at=now, updated_at=now, detail={})
    waiting = kind == ReleaseKind.DEPLOY and bool(await queued_releases(session, service=service,
                                                                         environment=environment))
    if not waiting:
        release = Release(state=ReleaseState.GATING, started_at=now, **fields)  # type: ignore[arg-type]
        try:
            async with session.begin_nested():
                session.add(release)
        except IntegrityError:
            if release in session:
                session.expunge(release)
            if request_key is not None:
                again = (await session.exec(select(Release).where(Release.request_key == request_key))).first()
                if again is not None:  # the same request raced itself
                    return Created(again, duplicate=True, ahead=[])
        else:
            await session.flush()
            return Created(release, duplicate=False, ahead=[])
    release = Release(state=ReleaseState.QUEUED, **fields)  # type: ignore[arg-type]
    session.add(release)
    await session.flush()
    ahead = await releases_ahead(session, release)
    if ahead:
        release.detail = {"queued_behind": ahead[-1].id}
        session.add(release)
    return Created(release, duplicate=False, ahead=ahead)


async def releases_ahead(session: AsyncSession, release: Release) -> list[Release]:
    """What goes before a queued release: the one in flight, then older queued ones, in order."""
    active = await active_release(session, service=release.service, environment=release.environment)
    queued = (await session.exec(
        select(Release).where(Release.service == release.service, Release.environment == release.environment,
                              Release.state == ReleaseState.QUEUED, col(Release.id) < release.id)
        .order_by(col(Release.id)))).all()
    return ([active] if active else []) + list(queued)


async def active_release(session: AsyncSession, *, service: str, environment: str) -> Release | None:
    query = select(Release).where(Release.service == service, Release.environment == environment,
                                  col(Release.state).in_([s.value for s in IN_FLIGHT]))
    return (await session.exec(query)).first()


async def queued_releases(session: AsyncSession, *, service: str, environment: str) -> list[Release]:
    query = (select(Release).where(Release.service == service, Release.environment == environment,
                                   Release.state == ReleaseState.QUEUED).order_by(col(Release.id)))
    return list((await session.exec(query)).all())


async def queue_head(session: AsyncSession, *, service: str, environment: str) -> Release | None:
    """The release that goes next: the oldest queued one (by id), when nothing is in flight there."""
    if await active_release(session, service=service, environment=environment) is not None:
        return None
    queued = await queued_releases(session, service=service, environment=environment)
    return queued[0] if queued else None


async def promote_next(session: AsyncSession, *, service: str, environment: str, now: datetime,
                       release_id: int | None = None) -> Release | None:
    """Start the oldest queued release of an environment that has nothing in flight, and only that one.

    With `release_id`, only if that release is still the head of the queue (the caller checked it).
    The state change is conditional and the database allows one release in flight, so of two
    processes promoting at once exactly one gets the release back.
    """
    head = await queue_head(session, service=service, environment=environment)
    if head is None or head.id is None or (release_id is not None and head.id != release_id):
        return None
    try:
        async with session.begin_nested():
            started = await store.apply(session, head, Event.START, now=now)
    except IntegrityError:
        return None  # another release took the environment first
    return head if started else None


async def set_state(session: AsyncSession, release: Release, state: ReleaseState, now: datetime,
                    **changes: object) -> Release:
    release.state = state
    release.updated_at = now
    if state not in IN_FLIGHT and state != ReleaseState.QUEUED and release.finished_at is None:
        release.finished_at = now
    for name, value in changes.items():
        setattr(release, name, value)
    session.add(release)
    await session.flush()
    return release


async def recent_releases(session: AsyncSession, *, service: str | None = None, environment: str | None = None,
                          limit: int = 10) -> list[Release]:
    query = select(Release)
    if service is not None:
        query = query.where(Release.service == service)
    if environment is not None:
        query = query.where(Release.environment == environment)
    return list((await session.exec(query.order_by(col(Release.id).desc()).limit(limit))).all())


async def quarantined_shas(session: AsyncSession, *, service: str, environment: str) -> set[str]:
    """Every commit quarantined in the environment: rolled back there since its last successful deploy (§5).

    `EnvironmentState.quarantined_sha` holds only the latest one, so after two rollbacks in a row it
    has forgotten the first commit; the release rows still say which releases were rolled back and
    when, and a deploy that succeeds afterwards lifts all of them.
    """
    last_deploy = (await session.exec(
        select(Release.verified_at).where(Release.service == service, Release.environment == environment,
                                          Release.kind == ReleaseKind.DEPLOY, Release.state == ReleaseState.SUCCEEDED,
                                          col(Release.verified_at).is_not(None))
        .order_by(col(Release.verified_at).desc()).limit(1))).first()
    query = select(Release.sha).where(Release.service == service, Release.environment == environment,
                                      col(Release.rolled_back_at).is_not(None))
    if last_deploy is not None:
        query = query.where(col(Release.rolled_back_at) > last_deploy)
    shas = {sha for sha in (await session.exec(query)).all() if sha}
    state = await session.get(EnvironmentState, (service, environment))
    if state is not None and state.quarantined_sha:
        shas.add(state.quarantined_sha)
    return shas


async def succeeded_releases(session: AsyncSession, *, service: str, environment: str) -> list[Release]:
    """Releases that succeeded (and so passed verification) in the environment, latest verified first."""
    query = (select(Release).where(Release.service == service, Release.environment == environment,
                                   Release.state == ReleaseState.SUCCEEDED, col(Release.verified_at).is_not(None))
             .order_by(col(Release.verified_at).desc(), col(Release.id).desc()))
    return list((await session.exec(query)).all())


async def release_by_request_key(session: AsyncSession, request_key: str) -> Release | None:
    return (await session.exec(select(Release).where(Release.request_key == request_key))).first()


async def next_gate_attempt(session: AsyncSession, release_id: int, gate: str) -> int:
    """Gate results are appended, never overwritten: each re-evaluation is the next attempt."""
    rows = (await session.exec(select(GateResult).where(GateResult.release_id == release_id,
                                                        GateResult.gate == gate))).all()
    return len(rows) + 1
