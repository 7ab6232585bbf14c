"""The web log's queries on SQLite and PostgreSQL: filters, keyset pages, and a release's chain check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from bot.ledger.service import record
from bot.release.models import Release
from bot.storage.database import Database
from bot.web.log_queries import ReleaseFilter, release_page, release_view

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _history(db: Database) -> None:
    async with db.session() as session:
        for i in range(1, 13):
            at = START + timedelta(days=i)
            session.add(Release(id=i, service="api" if i % 2 else "web", environment="production", ref=f"v{i}",
                                state="succeeded" if i % 3 else "failed", requested_by=f"U0DEV{i % 4}",
                                created_at=at, updated_at=at))
            await session.flush()
            await record(session, kind="decision", actor="switchman", release_id=i, outcome="GO", decided_at=at)
            if i == 5:
                await record(session, kind="approval", actor="U0APPROVER", release_id=i, outcome="approved",
                             decided_at=at + timedelta(minutes=1))
        await session.commit()


async def ids(db: Database, found: ReleaseFilter, *, before: int | None = None, size: int = 50) -> list[int]:
    async with db.session() as session:
        return [r["id"] for r in (await release_page(session, found, before=before, size=size)).rows]


async def test_filters_and_keyset_pages(db: Database) -> None:
    await _history(db)
    assert await ids(db, ReleaseFilter()) == list(range(12, 0, -1))
    assert await ids(db, ReleaseFilter(service="api")) == [11, 9, 7, 5, 3, 1]
    assert await ids(db, ReleaseFilter(outcome="failed")) == [12, 9, 6, 3]
    assert await ids(db, ReleaseFilter(person="U0APPROVER")) == [5]
    assert await ids(db, ReleaseFilter(person="U0DEV1")) == [9, 5, 1]
    assert await ids(db, ReleaseFilter(since=date(2026, 3, 4), until=date(2026, 3, 6))) == [5, 4, 3]
    assert await ids(db, ReleaseFilter(since=date(2026, 3, 10), service="web")) == [12, 10]
    assert await ids(db, ReleaseFilter(until=date(2026, 2, 1))) == []
    async with db.session() as session:
        first = await release_page(session, ReleaseFilter(), before=None, size=5)
        second = await release_page(session, ReleaseFilter(), before=first.next_before, size=5)
    assert [r["id"] for r in first.rows + second.rows] == list(range(12, 2, -1)) and first.next_before == 8


async def test_the_chain_check_of_one_release(db: Database) -> None:
    await _history(db)
    async with db.session() as session:
        shown = await release_view(session, 5)
    assert shown is not None and shown.chain.ok and [d["outcome"] for d in shown.decisions] == ["GO", "approved"]
    async with db.session() as session:
        await session.exec(text("UPDATE decisions SET actor = 'U0SOMEONE' WHERE release_id = 5 AND kind = 'approval'"))
        await session.commit()
        shown = await release_view(session, 5)
    assert shown is not None and not shown.chain.ok
    assert any("no longer match its hash" in p for p in shown.chain.problems)
