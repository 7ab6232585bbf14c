"""The advisory lock, the epoch and the fence, on a real PostgreSQL (`bot/storage/leadership.py`).

Two `LeaderLock`s in one test stand for two replicas: only one holds the lock; the one that took it
last owns the epoch, and the other's leader-only writes (a release's lease, a step's row lock) are
refused; a follower's request reaches the leader through NOTIFY.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.release import store
from bot.release.models import Release, ReleaseState
from bot.storage.database import Database
from bot.storage.leadership import Deposed, LeaderLock, LeaderState, notify_leader
from bot.storage.migrate import upgrade
from tests.replicas.cluster import fresh_database
from tests.support.postgres_server import PostgresServer

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
async def db(postgres_server: PostgresServer) -> AsyncIterator[Database]:
    url = fresh_database(postgres_server, "fence")
    upgrade(url)
    database = Database(url)
    yield database
    await database.dispose()


async def a_release(db: Database) -> int:
    async with db.session() as session:
        release = Release(service="api", environment="staging", ref="v1", requested_by="U0ALICE",
                          state=ReleaseState.ROLLING_OUT, created_at=NOW, updated_at=NOW)
        session.add(release)
        await session.flush()
        assert release.id is not None
        return release.id


async def test_only_the_newest_leader_may_step_a_release(db: Database) -> None:
    heard: list[dict[str, Any]] = []
    first, second = LeaderLock(db.url, on_message=heard.append), LeaderLock(db.url, on_message=heard.append)
    release_id = await a_release(db)
    try:
        assert await first.try_take()
        assert not await second.try_take()  # one holder at a time
        old = LeaderState(elected=True, epoch=await first.begin_epoch("first", NOW))
        assert await store.take_lease(db, release_id, now=NOW, fence=old.fence())

        await first.release()  # the first replica's session ends (a crash, a cut connection)
        assert await second.try_take()
        new = LeaderState(elected=True, epoch=await second.begin_epoch("second", NOW))
        assert new.epoch == old.epoch + 1

        with pytest.raises(Deposed):
            await store.renew_lease(db, release_id, now=NOW, fence=old.fence())
        async with db.session() as session:
            with pytest.raises(Deposed):
                await store.hold(session, release_id, fence=old.fence())
        await store.drop_lease(db, release_id, fence=old.fence())
        assert (await store.load(db, release_id)).lease_until is not None  # the deposed leader changed nothing
        async with db.session() as session:
            assert (await store.hold(session, release_id, fence=new.fence())).id == release_id
        await store.drop_lease(db, release_id, fence=new.fence())
        assert await store.take_lease(db, release_id, now=NOW, fence=new.fence())

        await notify_leader(db, {"kick": release_id})  # what a follower's request sends
        await second.hold(0.5, 2.0)
        assert heard == [{"kick": release_id}]
    finally:
        await first.release()
        await second.release()
