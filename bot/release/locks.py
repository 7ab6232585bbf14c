"""Environment locks (§2 `/deploy lock|unlock`): who holds one, why, and until when.

A lock is active while it is neither released nor expired, so an expired lock frees itself
without any job having to run. At most one lock per environment is unreleased
(`uq_locks_one_active`): taking a lock releases the one it replaces and any that expired in the
same transaction, so two `/deploy lock` at once leave exactly one active lock, on any number
of replicas.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.errors import Blocked
from bot.release.models import Lock

# Each failed attempt means another lock was taken in between, which the next attempt replaces.
ATTEMPTS = 5


async def active_lock(session: AsyncSession, *, service: str, environment: str, now: datetime) -> Lock | None:
    query = (select(Lock)
             .where(Lock.service == service, Lock.environment == environment, col(Lock.released_at).is_(None),
                    col(Lock.expires_at) > now)
             .order_by(col(Lock.created_at).desc()))
    return (await session.exec(query)).first()


async def take_lock(session: AsyncSession, *, service: str, environment: str, holder: str, reason: str,
                    duration: timedelta, now: datetime) -> tuple[Lock, Lock | None]:
    """Lock the environment; returns the lock and the previous active lock it replaced, if any."""
    for _ in range(ATTEMPTS):
        try:
            async with session.begin_nested():
                previous = await _release_unreleased(session, service=service, environment=environment,
                                                     by=holder, now=now)
                lock = Lock(service=service, environment=environment, holder=holder, reason=reason,
                            created_at=now, expires_at=now + duration)
                session.add(lock)
            return lock, previous
        except IntegrityError:
            continue  # a concurrent lock committed first (PostgreSQL); replace it on the next attempt
    raise Blocked(f"{service} {environment} is being locked by several people at once; try again")


async def release_lock(session: AsyncSession, *, service: str, environment: str, by: str,
                       now: datetime) -> Lock | None:
    lock = await active_lock(session, service=service, environment=environment, now=now)
    if lock is not None:
        lock.released_at, lock.released_by = now, by
        session.add(lock)
    return lock


async def _release_unreleased(session: AsyncSession, *, service: str, environment: str, by: str,
                              now: datetime) -> Lock | None:
    """Release the environment's active lock (returned) and mark expired ones released when they expired."""
    query = (select(Lock)
             .where(Lock.service == service, Lock.environment == environment, col(Lock.released_at).is_(None))
             .execution_options(populate_existing=True))
    active: Lock | None = None
    for lock in (await session.exec(query)).all():
        if lock.expires_at > now:
            lock.released_at, lock.released_by, active = now, by, lock
        else:
            lock.released_at = lock.expires_at
        session.add(lock)
    await session.flush()  # before the insert, which the partial unique index checks
    return active
