"""One unreleased lock per environment (`uq_locks_one_active`), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.release.locks import active_lock, release_lock, take_lock
from bot.release.models import Lock
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from tests.storage.concurrency import blocked_on_a_lock

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def db(database_url: str):  # type: ignore[no-untyped-def]
    upgrade(database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


def a_lock(holder: str, *, created_at: datetime = NOW, expires_at: datetime = NOW + HOUR) -> Lock:
    return Lock(service="api", environment="production", holder=holder, reason="maintenance",
                created_at=created_at, expires_at=expires_at)


async def unreleased(db: Database) -> list[Lock]:
    async with db.session() as session:
        return list((await session.exec(select(Lock).where(col(Lock.released_at).is_(None)))).all())


async def test_the_database_refuses_a_second_unreleased_lock(db: Database) -> None:
    async with db.session() as session:
        session.add(a_lock("U0CAROL"))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(a_lock("U0BOB"))
    async with db.session() as session:  # another environment, and released locks, are not counted
        session.add(Lock(service="api", environment="staging", holder="U0BOB", reason="x", created_at=NOW,
                         expires_at=NOW + HOUR))
        session.add(Lock(service="api", environment="production", holder="U0BOB", reason="x", created_at=NOW,
                         expires_at=NOW + HOUR, released_at=NOW))


async def test_taking_a_lock_releases_an_expired_one_and_replaces_the_active_one(db: Database) -> None:
    async with db.session() as session:
        session.add(a_lock("U0OLD", created_at=NOW - 3 * HOUR, expires_at=NOW - 2 * HOUR))
    async with db.session() as session:
        first, replaced = await take_lock(session, service="api", environment="production", holder="U0CAROL",
                                          reason="maintenance", duration=HOUR, now=NOW)
    assert replaced is None  # an expired lock is not replaced, just marked released when it expired
    async with db.session() as session:
        second, replaced = await take_lock(session, service="api", environment="production", holder="U0BOB",
                                           reason="load test", duration=HOUR, now=NOW + timedelta(minutes=5))
    assert replaced is not None and replaced.id == first.id
    async with db.session() as session:
        locks = {lock.holder: lock for lock in (await session.exec(select(Lock))).all()}
    assert (locks["U0OLD"].released_at, locks["U0OLD"].released_by) == (NOW - 2 * HOUR, None)
    assert (locks["U0CAROL"].released_at, locks["U0CAROL"].released_by) == (NOW + timedelta(minutes=5), "U0BOB")
    assert [lock.id for lock in await unreleased(db)] == [second.id]


async def test_a_lock_taken_while_another_is_being_taken_replaces_it(db: Database) -> None:
    """The second lock waits for the first transaction (SQLite: the write lock; PostgreSQL: the
    unique index entry, then a retry) and replaces the first lock; one active lock remains."""
    async def take_second() -> tuple[Lock, Lock | None]:
        async with db.session() as session:
            return await take_lock(session, service="api", environment="production", holder="U0BOB",
                                   reason="load test", duration=HOUR, now=NOW)

    async with db.session() as session:
        first, _ = await take_lock(session, service="api", environment="production", holder="U0CAROL",
                                   reason="maintenance", duration=HOUR, now=NOW)
        second_task = asyncio.create_task(take_second())
        if db.dialect == "postgresql":
            await blocked_on_a_lock(db)  # the second insert waits on the index entry of the first
    second, replaced = await second_task
    assert replaced is not None and replaced.id == first.id
    assert [lock.id for lock in await unreleased(db)] == [second.id]
    async with db.session() as session:
        assert await release_lock(session, service="api", environment="production", by="U0BOB", now=NOW)
    async with db.session() as session:
        assert await active_lock(session, service="api", environment="production", now=NOW) is None
    assert await unreleased(db) == []


async def test_many_locks_at_once_leave_exactly_one(db: Database) -> None:
    async def take(holder: str) -> None:
        async with db.session() as session:
            await take_lock(session, service="api", environment="production", holder=holder, reason="x",
                            duration=HOUR, now=NOW)

    await asyncio.gather(*(take(f"U0P{i}") for i in range(4)))
    assert len(await unreleased(db)) == 1


def test_the_migration_keeps_only_the_newest_unreleased_lock(database_url: str) -> None:
    upgrade(database_url, "0005")

    async def seed_then_migrate() -> list[Lock]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                session.add(a_lock("U0OLD", created_at=NOW - 3 * HOUR, expires_at=NOW - 2 * HOUR))
                session.add(a_lock("U0NEW"))
                session.add(Lock(service="web", environment="production", holder="U0WEB", reason="x",
                                 created_at=NOW, expires_at=NOW + HOUR))
            upgrade(database_url)
            async with db.session() as session:
                return list((await session.exec(select(Lock).order_by(col(Lock.id)))).all())
        finally:
            await db.dispose()

    old, new, web = asyncio.run(seed_then_migrate())
    assert old.released_at == NOW - 2 * HOUR
    assert new.released_at is None and web.released_at is None
