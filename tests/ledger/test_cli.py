"""`switchman audit verify` and `switchman export`, run as a user runs them: a separate process."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.ledger.chain import row_hash
from bot.ledger.export import COLUMNS
from bot.ledger.service import record
from bot.storage.database import Database
from bot.storage.migrate import upgrade

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
TOKEN = "xoxb-0000-never-printed"


def switchman(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"SWITCHMAN_DATABASE_URL": url, "SLACK_BOT_TOKEN": TOKEN}
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)
    assert TOKEN not in done.stdout + done.stderr
    return done


async def _fill(url: str, n: int) -> None:
    upgrade(url)
    db = Database(url)
    try:
        for i in range(1, n + 1):
            async with db.session() as session:
                await record(session, kind="gate_verdict", actor="switchman", release_id=7, subject="api, \"v1\"",
                             outcome="pass", evidence={"gate": "ci_green", "lines": "a\nb", "i": i},
                             decided_at=NOW + timedelta(hours=i),
                             permalink=None if i == 2 else f"https://example.slack.com/archives/C1/p{i}")
    finally:
        await db.dispose()


@pytest.fixture
def ledger(sqlite_url: str) -> str:
    asyncio.run(_fill(sqlite_url, 6))
    return sqlite_url


def _tamper(url: str, statement: str) -> None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute(statement)


def test_verify_an_intact_ledger(ledger: str, tmp_path: Path) -> None:
    done = switchman(ledger, "audit", "verify", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first, head = done.stdout.splitlines()
    assert first == "ledger OK: 6 decisions, chain intact"
    assert head.startswith("head: seq 6, hash ")


def test_verify_a_new_database_migrates_it_and_finds_an_empty_chain(sqlite_url: str, tmp_path: Path) -> None:
    done = switchman(sqlite_url, "audit", "verify", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "ledger OK: 0 decisions, chain intact\n")


def test_verify_lists_every_problem_and_fails(ledger: str, tmp_path: Path) -> None:
    _tamper(ledger, "UPDATE decisions SET evidence = '{\"gate\": \"ci_green\"}' WHERE seq = 2")
    _tamper(ledger, "DELETE FROM decisions WHERE seq = 4")
    done = switchman(ledger, "audit", "verify", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("seq 2: hash mismatch: ")
    assert lines[1].startswith("seq 5: missing rows: seq 4 missing")
    assert lines[2:] == ["ledger BROKEN: 2 problem(s) in 5 decisions checked; the first broken row is seq 2 "
                         "(hash mismatch)"]


def test_export_json_lines_in_seq_order_that_rehash_offline(ledger: str, tmp_path: Path) -> None:
    done = switchman(ledger, "export", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert list(rows[0]) == list(COLUMNS)
    assert rows[1]["permalink"] is None
    assert rows[0]["evidence"] == {"gate": "ci_green", "lines": "a\nb", "i": 1}
    for row in rows:
        row["decided_at"] = datetime.fromisoformat(row["decided_at"])
        assert row_hash(row) == row["hash"]


def test_export_csv_to_a_file(ledger: str, tmp_path: Path) -> None:
    out = tmp_path / "ledger.csv"
    done = switchman(ledger, "export", "--format", "csv", "--output", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr.strip()) == ("", f"exported 6 decision(s) to {out}")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("ledger.csv")) == ["ledger.csv"]
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["seq"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["subject"] == 'api, "v1"'
    assert json.loads(rows[0]["evidence"]) == {"gate": "ci_green", "i": 1, "lines": "a\nb"}
    assert (rows[1]["permalink"], rows[0]["decided_at"]) == ("", "2026-03-29T01:30:00.000000+00:00")


def test_export_a_window_of_time(ledger: str, tmp_path: Path) -> None:
    done = switchman(ledger, "export", "--format", "csv", "--since", "2026-03-29T04:30:00+02:00",
                     "--until", "2026-03-29T05:30", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [int(r["seq"]) for r in csv.DictReader(io.StringIO(done.stdout))] == [2, 3, 4]


def test_export_refuses_a_malformed_instant(ledger: str, tmp_path: Path) -> None:
    done = switchman(ledger, "export", "--since", "last tuesday", cwd=tmp_path)
    assert done.returncode == 2
    assert "not an ISO-8601 date or instant: 'last tuesday'" in done.stderr


# --- audit verify against tampering made directly in the database, on SQLite and PostgreSQL ---------------

def _tamper_sql(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def six_decisions(database_url: str) -> str:
    asyncio.run(_fill(database_url, 6))
    return database_url


def test_verify_passes_on_an_untouched_database(six_decisions: str, tmp_path: Path) -> None:
    done = switchman(six_decisions, "audit", "verify", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "ledger OK: 6 decisions, chain intact"


@pytest.mark.parametrize(("statements", "first", "checked"), [
    pytest.param(["UPDATE decisions SET outcome = 'fail' WHERE seq = 3"], "seq 3: hash mismatch: ", 6,
                 id="field-updated"),
    pytest.param(["DELETE FROM decisions WHERE seq = 3"], "seq 4: missing rows: seq 3 missing", 5,
                 id="middle-row-deleted"),
    # Rows 3 and 4 trade places: each keeps its contents and hash but takes the other's seq.
    pytest.param(["UPDATE decisions SET seq = 0 WHERE seq = 3", "UPDATE decisions SET seq = 3 WHERE seq = 4",
                  "UPDATE decisions SET seq = 4 WHERE seq = 0"], "seq 3: broken link: ", 6, id="pair-swapped"),
])
def test_verify_names_the_first_broken_row_and_fails(six_decisions: str, tmp_path: Path, statements: list[str],
                                                     first: str, checked: int) -> None:
    _tamper_sql(six_decisions, *statements)
    done = switchman(six_decisions, "audit", "verify", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(first)
    first_seq = first.split(":")[0]
    assert lines[-1].startswith(f"ledger BROKEN: {len(lines) - 1} problem(s) in {checked} decisions checked; "
                                f"the first broken row is {first_seq} (")
