"""`page_contacts` on SQLite and PostgreSQL: one row per (page, person, method, delay), an ack cancels only
what is still due, and migration 0011 goes down and up again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.oncall import notification_rules
from bot.oncall.models import ContactStatus, Page, PageContact
from bot.storage.database import Database, sync_url
from bot.storage.migrate import alembic_config, current_revision, upgrade

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


async def _page(db: Database) -> int:
    async with db.session() as session:
        page = Page(rotation="api-oncall", source="events", dedup_key="k", title="disk full", created_at=NOW)
        session.add(page)
        await session.flush()
        assert page.id is not None
        return page.id


def _contact(page_id: int, method: str = "sms", after: int = 60, **fields: object) -> PageContact:
    return PageContact(page_id=page_id, user="U01OPS1", method=method, after_seconds=after, destination="…0001",
                       due_at=NOW + timedelta(seconds=after), **fields)


async def test_a_rule_is_planned_once_per_page_and_person(db: Database) -> None:
    page_id = await _page(db)
    async with db.session() as session:
        session.add(_contact(page_id))
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(_contact(page_id))
    async with db.session() as session:
        session.add(_contact(page_id, after=120))  # the same method later is another rule
        session.add(_contact(page_id, method="voice"))
    async with db.session() as session:
        assert len((await session.exec(select(PageContact))).all()) == 3


async def test_an_ack_cancels_what_is_still_due_and_leaves_the_rest(db: Database) -> None:
    page_id = await _page(db)
    async with db.session() as session:
        session.add(_contact(page_id, status=ContactStatus.SENT, provider_id="SM1"))
        session.add(_contact(page_id, method="voice", status=ContactStatus.SCHEDULED))
        session.add(_contact(page_id, method="email", status=ContactStatus.FAILED, error="550"))
    async with db.session() as session:
        cancelled = await notification_rules.cancel_pending(session, page_id, now=NOW)
    async with db.session() as session:
        rows = await notification_rules.contacts_of(session, page_id)
    assert [(r.method, r.status) for r in rows] == [
        ("sms", ContactStatus.SENT), ("voice", ContactStatus.CANCELLED), ("email", ContactStatus.FAILED)]
    assert cancelled == [rows[1].id] and rows[1].finished_at == NOW


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_0011_goes_down_to_0009_and_up_again(database_url: str) -> None:
    upgrade(database_url)
    assert "page_contacts" in _tables(database_url)
    command.downgrade(alembic_config(database_url), "0009")
    assert current_revision(database_url) == "0009" and "page_contacts" not in _tables(database_url)
    upgrade(database_url)
    assert "page_contacts" in _tables(database_url)
