"""The release list's queries are read in id order from an index, never sorted whole: SQLite's query plan
for each filter (on a generated history, after ANALYZE) has no temporary sort, except the person filter,
which looks people up in the ledger by the (actor, release_id) index."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from sqlalchemy import and_, select
from sqlalchemy.dialects import sqlite

from bench.evidence_history import batches, write_sqlite
from bot.storage.migrate import upgrade
from bot.web.log_queries import RELEASES, ReleaseFilter

FILTERS = {
    "none": ReleaseFilter(),
    "service": ReleaseFilter(service="api"),
    "service and environment": ReleaseFilter(service="api", environment="production"),
    "environment": ReleaseFilter(environment="staging"),
    "outcome": ReleaseFilter(outcome="failed"),
    "date range": ReleaseFilter(since=date(2026, 1, 1), until=date(2026, 11, 30)),
    "service and date range": ReleaseFilter(service="web", since=date(2026, 6, 1)),
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path = tmp_path_factory.mktemp("plans") / "history.db"
    upgrade(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    for batch in batches(3000):
        write_sqlite(conn, batch)
    conn.execute("ANALYZE")
    return conn


def plan(conn: sqlite3.Connection, found: ReleaseFilter) -> list[str]:
    c = RELEASES.c
    query = select(c.id, c.state).where(and_(True, *found.where())).where(c.id < 2500).order_by(c.id.desc()).limit(51)
    text = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + text)]


@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_reads_in_id_order_without_sorting(history: sqlite3.Connection, name: str) -> None:
    steps = plan(history, FILTERS[name])
    assert not any("TEMP B-TREE" in step for step in steps), steps
    assert not any(step == "SCAN releases" for step in steps) or name == "none", steps


def test_the_person_filter_uses_the_requester_and_ledger_actor_indexes(history: sqlite3.Connection) -> None:
    steps = plan(history, ReleaseFilter(person="U00000003"))
    assert any("ix_decisions_actor_release" in step for step in steps), steps
    assert "SCAN releases" not in steps and "SCAN decisions" not in steps, steps
