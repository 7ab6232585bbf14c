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
from bot.release.models import Release
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


# --- export of releases, decisions and reports, filtered by service ----------------------------------------

async def _fill_releases(url: str) -> None:
    """api #1 and #3, web #2, each with a GO decision; a lock of api/production and one of web/staging."""
    upgrade(url)
    db = Database(url)
    try:
        for i, service in enumerate(("api", "web", "api"), start=1):
            at = NOW + timedelta(hours=i)
            async with db.session() as session:
                release = Release(service=service, environment="production", ref=f"v{i}", requested_by="U1",
                                  state="succeeded", detail={"stage": i}, created_at=at, updated_at=at,
                                  finished_at=at + timedelta(minutes=5))
                session.add(release)
                await session.flush()
                await record(session, kind="decision", actor="switchman", release_id=release.id, outcome="GO",
                             subject=f"{service}/production@v{i}", decided_at=at)
                await session.commit()
        for subject in ("api/production", "web/staging", "apiary/production"):
            async with db.session() as session:
                await record(session, kind="lock", actor="U2", subject=subject, outcome="locked",
                             decided_at=NOW + timedelta(hours=5))
                await session.commit()
    finally:
        await db.dispose()


@pytest.fixture
def releases(database_url: str) -> str:
    asyncio.run(_fill_releases(database_url))
    return database_url


def test_export_everything_as_tagged_json_lines_whose_decisions_still_rehash(releases: str, tmp_path: Path) -> None:
    done = switchman(releases, "export", "--what", "all", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["record"], r.get("id", r.get("seq"))) for r in rows] == [
        ("release", 1), ("release", 2), ("release", 3),
        ("decision", 1), ("decision", 2), ("decision", 3), ("decision", 4), ("decision", 5), ("decision", 6)]
    assert rows[0]["detail"] == {"stage": 1}
    assert rows[0]["created_at"] == "2026-03-29T01:30:00.000000+00:00"
    for row in rows[3:]:
        fields = {k: v for k, v in row.items() if k != "record"}
        fields["decided_at"] = datetime.fromisoformat(fields["decided_at"])
        assert row_hash(fields) == fields["hash"]
    assert done.stderr == ""  # the reports table exists (migration 0013) and holds no report for these releases


def test_export_one_service(releases: str, tmp_path: Path) -> None:
    done = switchman(releases, "export", "--what", "all", "--service", "api", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["id"] for r in rows if r["record"] == "release"] == [1, 3]
    assert [(r["seq"], r["subject"]) for r in rows if r["record"] == "decision"] == [
        (1, "api/production@v1"), (3, "api/production@v3"), (4, "api/production")]


def test_export_releases_as_csv_in_a_window(releases: str, tmp_path: Path) -> None:
    done = switchman(releases, "export", "--what", "releases", "--format", "csv", "--since", "2026-03-29T02:00Z",
                     "--until", "2026-03-30", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(r["id"], r["service"], r["ref"]) for r in rows] == [("2", "web", "v2"), ("3", "api", "v3")]
    assert (json.loads(rows[0]["detail"]), rows[0]["started_at"]) == ({"stage": 2}, "")


@pytest.mark.parametrize(("args", "message"), [
    (["--service", "nosuch"], "unknown service 'nosuch': no release of it is stored"),
    (["--since", "2026-04-02", "--until", "2026-04-01"], "--since (2026-04-02T00:00:00.000000+00:00) must be before"),
    (["--format", "csv", "--what", "all"], "a CSV file holds one kind of row"),
    (["--what", "everything"], "invalid choice: 'everything'"),
    (["--until", "2026-13-01"], "not an ISO-8601 date or instant: '2026-13-01'"),
])
def test_export_refuses_bad_options_with_the_usage_and_writes_nothing(releases: str, tmp_path: Path,
                                                                      args: list[str], message: str) -> None:
    out = tmp_path / "out.jsonl"
    done = switchman(releases, "export", *args, "--output", str(out), cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "usage: switchman export" in done.stderr
    assert list(tmp_path.glob("out.jsonl*")) == []
