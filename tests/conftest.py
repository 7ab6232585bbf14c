"""Fixtures shared by the whole suite: settings on a throwaway database, the Slack contract,
a real PostgreSQL server, and the full stack against a contract-checking fake Slack."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.settings import EXAMPLE_CONFIG, Settings
from bot.slack_sim.stack import Stack, simulated_stack
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from tests.contracts.slack_contract import SlackContract
from tests.support.postgres_server import PostgresServer
from tests.support.postgres_server import postgres_session_fixture as postgres_server

__all__ = ["postgres_server"]
_databases = itertools.count(1)


@pytest.fixture(scope="session")
def slack_contract() -> SlackContract:
    return SlackContract.load()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'switchman.db'}"


def fresh_postgres_database(server: PostgresServer) -> str:
    """A new, empty database on the shared test server; every test gets its own."""
    name = f"t{next(_databases)}"
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" OWNER "{server.user}"'))
    admin.dispose()
    return server.url().rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """Storage tests run once on SQLite and once on a real PostgreSQL server."""
    if request.param == "sqlite":
        return sqlite_url
    return fresh_postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database (SQLite, and PostgreSQL where the test asks for it) for storage tests."""
    upgrade(database_url)
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings.from_env({"SWITCHMAN_DATABASE_URL": sqlite_url, "SWITCHMAN_CONFIG": str(EXAMPLE_CONFIG)})


@pytest.fixture
async def stack(settings: Settings, slack_contract: SlackContract) -> AsyncIterator[Stack]:
    """Switchman on loopback against a fake Slack that rejects any call the real one would."""
    async with simulated_stack(settings, checker=slack_contract) as running:
        yield running
        await running.settle()
        assert running.api.violations == [], f"calls Slack would have rejected: {running.api.violations}"
        assert running.ctx.background.failures == 0, "a background task failed"


@pytest.fixture
def example_config_path() -> Iterator[Path]:
    yield EXAMPLE_CONFIG
