"""Which commits are quarantined in an environment (service.quarantined_shas), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.release import service as releases
from bot.release.models import Release, ReleaseKind, ReleaseState
from bot.storage.database import Database

START = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


async def add(db: Database, sha: str, minute: int, *, kind: ReleaseKind = ReleaseKind.DEPLOY,
              rolled_back_at: int | None = None) -> None:
    at = START + timedelta(minutes=minute)
    undone = None if rolled_back_at is None else START + timedelta(minutes=rolled_back_at)
    async with db.session() as session:
        session.add(Release(kind=kind, service="api", environment="staging", ref=sha, sha=sha,
                            requested_by="U0ALICE", detail={}, created_at=at, updated_at=at, verified_at=at,
                            state=ReleaseState.SUCCEEDED if undone is None else ReleaseState.ROLLED_BACK,
                            rolled_back_at=undone))


async def quarantined(db: Database) -> set[str]:
    async with db.session() as session:
        return await releases.quarantined_shas(session, service="api", environment="staging")


async def test_every_commit_rolled_back_since_the_last_deploy_stays_quarantined(db: Database) -> None:
    await add(db, "a", 1)
    await add(db, "b", 2)
    await add(db, "c", 3, rolled_back_at=4)  # rolled back to b…
    await add(db, "b", 4, kind=ReleaseKind.ROLLBACK, rolled_back_at=5)  # …and that rolled back to a
    await add(db, "a", 5, kind=ReleaseKind.ROLLBACK)
    assert await quarantined(db) == {"b", "c"}
    await add(db, "d", 6)  # a newer commit deployed: the quarantine has done its job
    assert await quarantined(db) == set()
