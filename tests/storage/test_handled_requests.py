"""Claiming a Slack request's key with its effect, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.release.models import Lock
from bot.storage import handled_requests as handled
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from tests.storage.concurrency import blocked_on_a_lock

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
KEY = "T0SIM:4242.T0SIM.trigger1"


@pytest.fixture
async def db(database_url: str):  # type: ignore[no-untyped-def]
    upgrade(database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


async def act(db: Database, holder: str) -> str:
    """An effect (a lock row) with the claim in its transaction; returns the answer."""
    async with db.session() as session:
        claim = await handled.claim(session, key=KEY, kind="lock", now=NOW)
        if claim.repeat:
            return claim.earlier
        session.add(Lock(service="api", environment="staging", holder=holder, reason="x", created_at=NOW,
                         expires_at=NOW))
        return claim.answer(f"locked by {holder}")


async def locks(db: Database) -> list[Lock]:
    async with db.session() as session:
        return list((await session.exec(select(Lock))).all())


async def test_a_repeated_request_changes_nothing_and_answers_as_the_first(db: Database) -> None:
    assert await act(db, "U0FIRST") == "locked by U0FIRST"
    assert await act(db, "U0AGAIN") == "locked by U0FIRST"
    assert [lock.holder for lock in await locks(db)] == ["U0FIRST"]
    assert await handled.answered(db, KEY) == "locked by U0FIRST"
    assert await handled.answered(db, "T0SIM:another") is None


async def test_a_failed_effect_releases_its_claim(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await handled.claim(session, key=KEY, kind="lock", now=NOW)
            raise RuntimeError("the effect failed")
    assert await handled.answered(db, KEY) is None
    assert await act(db, "U0RETRY") == "locked by U0RETRY"


async def test_without_a_key_nothing_is_claimed(db: Database) -> None:
    async with db.session() as session:
        first = await handled.claim(session, key=None, kind="lock", now=NOW)
        again = await handled.claim(session, key=None, kind="lock", now=NOW)
    assert not first.repeat and not again.repeat
    async with db.session() as session:
        assert (await session.exec(select(handled.HandledRequest))).all() == []


async def test_a_copy_arriving_during_the_first_waits_for_it_and_changes_nothing(db: Database) -> None:
    async with db.session() as session:
        claim = await handled.claim(session, key=KEY, kind="lock", now=NOW)
        session.add(Lock(service="api", environment="staging", holder="U0FIRST", reason="x", created_at=NOW,
                         expires_at=NOW))
        claim.answer("locked by U0FIRST")
        copy = asyncio.create_task(act(db, "U0COPY"))
        if db.dialect == "postgresql":
            await blocked_on_a_lock(db)  # the copy's insert waits on the primary key of ours
    assert await copy == "locked by U0FIRST"
    assert [lock.holder for lock in await locks(db)] == ["U0FIRST"]


async def test_copies_at_once_act_once(db: Database) -> None:
    answers = await asyncio.gather(*(act(db, f"U0COPY{i}") for i in range(4)))
    assert len(set(answers)) == 1 and len(await locks(db)) == 1
