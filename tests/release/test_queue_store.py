"""The queue's database rules (bot/release/service.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.release import service as releases
from bot.release.models import ReleaseKind, ReleaseState
from bot.storage.database import Database

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


async def request(db: Database, ref: str, *, kind: ReleaseKind = ReleaseKind.DEPLOY) -> releases.Created:
    async with db.session() as session:
        return await releases.create_release(
            session, service="api", environment="production", ref=ref, sha=ref.ljust(40, "0"), strategy="rolling",
            requested_by="U0ALICE", reason=None, request_key=None, now=NOW, kind=kind)


async def end(db: Database, release_id: int) -> None:
    async with db.session() as session:
        row = await session.get(releases.Release, release_id)
        assert row is not None
        await releases.set_state(session, row, ReleaseState.CANCELLED, NOW)


async def test_a_deploy_goes_behind_the_queue_even_while_nothing_is_in_flight(db: Database) -> None:
    first = (await request(db, "a1")).release
    second, third = (await request(db, "b2")).release, (await request(db, "c3")).release
    assert (second.state, third.state) == (ReleaseState.QUEUED, ReleaseState.QUEUED)
    await end(db, first.id or 0)  # the environment is free; its queue has not been moved on yet

    late = await request(db, "d4")
    assert late.queued and late.stalled
    assert [r.id for r in late.ahead] == [second.id, third.id]

    async with db.session() as session:  # only the head, and only the one the caller checked
        assert await releases.promote_next(session, service="api", environment="production", now=NOW,
                                           release_id=third.id) is None
        started = await releases.promote_next(session, service="api", environment="production", now=NOW)
    assert started is not None and (started.id, started.state) == (second.id, ReleaseState.GATING)
    async with db.session() as session:  # promoting again starts nothing: the environment is taken
        assert await releases.promote_next(session, service="api", environment="production", now=NOW) is None
    after = await request(db, "e5")
    assert after.queued and not after.stalled


async def test_a_rollback_takes_a_free_environment_ahead_of_the_queue(db: Database) -> None:
    first = (await request(db, "a1")).release
    await request(db, "b2")
    await end(db, first.id or 0)
    rollback = await request(db, "a0", kind=ReleaseKind.ROLLBACK)
    assert not rollback.queued and rollback.release.state == ReleaseState.GATING
