"""Migrations and the core tables, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.ledger.models import Decision
from bot.oncall.models import Page, RotationRecord, ShiftRecord
from bot.release.models import EnvironmentState, GateResult, Lock, Release
from bot.storage.database import Database, async_url, sync_url
from bot.storage.migrate import current_revision, head_revision, upgrade
from bot.storage.tables import metadata

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str):  # type: ignore[no-untyped-def]
    upgrade(database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


def test_migrations_create_every_table_and_are_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)  # a second run is a no-op, as at every start of serve/console
    assert current_revision(database_url) == head_revision()
    engine = create_engine(sync_url(database_url))
    try:
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(metadata.tables) <= names


async def test_instants_come_back_as_the_same_utc_instant(db: Database) -> None:
    berlin_evening = datetime(2026, 10, 25, 2, 30, tzinfo=timezone(timedelta(hours=2)))
    async with db.session() as session:
        session.add(Release(service="api", environment="production", ref="v1.4.2", requested_by="U0ALICE",
                            created_at=berlin_evening, updated_at=NOW, detail={"commits": ["a1", "b2"]}))
    async with db.session() as session:
        release = (await session.exec(select(Release))).one()
    assert release.created_at == berlin_evening
    assert release.created_at.tzinfo == UTC
    assert release.detail == {"commits": ["a1", "b2"]}


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with db.session() as session:
            session.add(Lock(service="api", environment="production", holder="U0ALICE", reason="incident",
                             created_at=datetime(2026, 1, 1), expires_at=NOW))


async def test_one_slack_request_can_create_only_one_release(db: Database) -> None:
    async with db.session() as session:
        session.add(Release(service="api", environment="staging", ref="main", requested_by="U0ALICE",
                            request_key="T0:trigger-1", created_at=NOW, updated_at=NOW))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(Release(service="api", environment="staging", ref="main", requested_by="U0ALICE",
                                request_key="T0:trigger-1", created_at=NOW, updated_at=NOW))
    async with db.session() as session:
        assert len((await session.exec(select(Release))).all()) == 1


async def test_a_gate_result_belongs_to_an_existing_release(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(GateResult(release_id=999, gate="ci_green", verdict="pass", started_at=NOW, finished_at=NOW))


async def test_ledger_rows_cannot_share_a_position(db: Database) -> None:
    row = {"kind": "approval", "actor": "U0CAROL", "decided_at": NOW, "prev_hash": "0" * 64}
    async with db.session() as session:
        session.add(Decision(seq=1, hash="a" * 64, **row))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(Decision(seq=1, hash="b" * 64, **row))


async def test_on_call_records_round_trip(db: Database) -> None:
    async with db.session() as session:
        session.add(RotationRecord(name="api-oncall", timezone="Europe/Berlin", config_digest="d",
                                   calendar_secret="s", updated_at=NOW))
        await session.flush()
        session.add(ShiftRecord(rotation="api-oncall", start=NOW, end=NOW + timedelta(hours=167),
                                primary="U01OPS1", shadow="U01DEV1", dst_change=True))
        session.add(Page(rotation="api-oncall", source="alertmanager", dedup_key="fp1", title="errors up",
                         created_at=NOW, details={"labels": {"service": "api"}}))
        session.add(EnvironmentState(service="api", environment="production", current_sha="abc", updated_at=NOW))
    async with db.session() as session:
        shift = (await session.exec(select(ShiftRecord))).one()
        page = (await session.exec(select(Page))).one()
    assert (shift.end - shift.start, shift.dst_change) == (timedelta(hours=167), True)
    assert (page.status, page.details["labels"]["service"]) == ("triggered", "api")


async def test_readiness_ping(db: Database) -> None:
    await db.ping()


def test_one_url_gives_both_drivers() -> None:
    assert async_url("sqlite:////var/lib/switchman.db") == "sqlite+aiosqlite:////var/lib/switchman.db"
    assert sync_url("postgresql://sw:p%40ss@db:5432/sw") == "postgresql+psycopg://sw:p%40ss@db:5432/sw"
    assert async_url("postgres://sw@db/sw") == "postgresql+psycopg://sw@db/sw"
    with pytest.raises(ValueError, match="unsupported database"):
        sync_url("mysql://x@y/z")
