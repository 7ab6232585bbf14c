"""Environment locks (§2 `/deploy lock|unlock`): who holds one, why, and until when.

A lock is active while it is neither released nor expired, so an expired lock frees itself
without any job having to run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.release.models import Lock


async def active_lock(session: AsyncSession, *, service: str, environment: str, now: datetime) -> Lock | None:
    query = (select(Lock)
             .where(Lock.service == service, Lock.environment == environment, col(Lock.released_at).is_(None),
                    col(Lock.expires_at) > now)
             .order_by(col(Lock.created_at).desc()))
    return (await session.exec(query)).first()


async def take_lock(session: AsyncSession, *, service: str, environment: str, holder: str, reason: str,
                    duration: timedelta, now: datetime) -> tuple[Lock, Lock | None]:
    """Lock the environment; returns the lock and the previous active lock it replaced, if any."""
    previous = await active_lock(session, service=service, environment=environment, now=now)
    if previous is not None:
        previous.released_at, previous.released_by = now, holder
        session.add(previous)
    lock = Lock(service=service, environment=environment, holder=holder, reason=reason, created_at=now,
                expires_at=now + duration)
    session.add(lock)
    await session.flush()
    return lock, previous


async def release_lock(session: AsyncSession, *, service: str, environment: str, by: str,
                       now: datetime) -> Lock | None:
    lock = await active_lock(session, service=service, environment=environment, now=now)
    if lock is not None:
        lock.released_at, lock.released_by = now, by
        session.add(lock)
    return lock
