"""One running stack per fuzz module, driven from synchronous hypothesis tests.

Hypothesis runs each example as a plain function call, so the scenario lives on an event loop this
module owns: `Bed.run` drives one coroutine on it. Starting the stack once and sending hundreds of
requests through it keeps a wire test to seconds; every check compares the database before and
after one request, so examples need not be independent of each other.

What "nothing went wrong" means here, on every request:
- no apology with an error id reached anyone (that is the error handler's answer to an unexpected
  exception), and no ERROR log line was written (a listener's or a background task's traceback);
- no background task failed, and the fake Slack saw no call the real one would reject.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from tests.conftest import fresh_postgres_database
from tests.contracts.slack_contract import SlackContract
from tests.oncall.schedule_scenario import advance
from tests.release.scenario import Scenario, scenario

T = TypeVar("T")
APOLOGY = "Something went wrong"
WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
PAUSE = 2.0


class ErrorLog(logging.Handler):
    """Every ERROR (or worse) record written while the bed runs."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Bed:
    def __init__(self, loop: asyncio.AbstractEventLoop, s: Scenario, errors: ErrorLog) -> None:
        self.loop, self.s, self.errors = loop, s, errors

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def rows(self) -> dict[str, int]:
        """Rows per table, every table the app has."""
        return self.run(_rows(self.s))

    def pause(self, seconds: float = PAUSE) -> None:
        """Let simulated time pass between two requests, as between two clicks of a person: answers by DM
        are posted directly, and Slack's per-channel rate limit (on in the stack) allows no more."""
        self.run(advance(self.s, timedelta(seconds=seconds)))

    def mark(self) -> Mark:
        """Where the workspace, the error log and the failure counts stand now."""
        stack = self.s.stack
        return Mark(len(stack.workspace.events), len(self.errors.records), stack.ctx.background.failures,
                    len(stack.api.violations))

    def said_since(self, mark: Mark) -> list[str]:
        """The text of every message, ephemeral and view shown in the workspace since `mark`."""
        out = []
        for event in self.s.stack.workspace.events[mark.events:]:
            out.append(event.text or "")
            for block in event.blocks or []:
                text = block.get("text")
                if isinstance(text, dict):
                    out.append(text.get("text", ""))
        return out

    def assert_nothing_broke(self, mark: Mark, what: object) -> None:
        said = self.said_since(mark)
        assert not any(APOLOGY in text for text in said), f"an apology for {what!r}: {said}"
        errors = self.errors.records[mark.errors:]
        assert errors == [], f"an ERROR log line for {what!r}: " + "; ".join(
            f"{r.name}: {r.getMessage()} {r.exc_info[1]!r}" if r.exc_info else f"{r.name}: {r.getMessage()}"
            for r in errors)
        assert self.s.stack.ctx.background.failures == mark.failures, f"a background task failed for {what!r}"
        violations = self.s.stack.api.violations[mark.violations:]
        assert violations == [], f"calls Slack would reject for {what!r}: {violations}"


@dataclass(frozen=True)
class Mark:
    events: int
    errors: int
    failures: int
    violations: int


async def _rows(s: Scenario) -> dict[str, int]:
    tables = SQLModel.metadata.sorted_tables
    counts = select(*(select(func.count()).select_from(table).scalar_subquery() for table in tables))
    async with s.stack.ctx.db.session() as session:
        row = (await session.exec(counts)).one()  # one round trip for every table
    return {table.name: count for table, count in zip(tables, row, strict=True)}


# Each bed runs on SQLite and on a real PostgreSQL server (which refuses what SQLite stores, say a NUL).
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of the kind the module fixture's parameter names."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'switchman.db'}"
    return fresh_postgres_database(request.getfixturevalue("postgres_server"))


@contextmanager
def running_bed(request: pytest.FixtureRequest, tmp_path: Path, contract: SlackContract, *, config: str,
                environ: dict[str, str] | None = None) -> Iterator[Bed]:
    loop = asyncio.new_event_loop()
    errors = ErrorLog()
    root = logging.getLogger()
    manager = scenario(tmp_path, contract, config=config, start=WEDNESDAY, environ=environ,
                       database_url=database_url(request, tmp_path))
    s = loop.run_until_complete(manager.__aenter__())
    root.addHandler(errors)
    try:
        yield Bed(loop, s, errors)
    finally:
        root.removeHandler(errors)
        try:
            loop.run_until_complete(manager.__aexit__(None, None, None))
        finally:
            loop.close()
