"""The post-release report (§8) on real releases: a verified one, one rolled back automatically, its
rollback, and a later one whose change has commit times — through signed requests and the fake Slack.

Each thread ends with its report; the stored JSON is what the ledger's hash vouches for; the release
undone waits for its rollback and gets one report that says how it ended.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import update

from bot.evidence.metrics import for_service
from bot.ledger import service as ledger
from bot.release.models import ReleaseKind, ReleaseReport, ReleaseState
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import Scenario, scenario, ship, verified_canary_config
from tests.support.local_http import serve

ALICE, CAROL = "U0ALICE", "U0CAROL"
WEDNESDAY = datetime(2026, 11, 18, 10, tzinfo=UTC)


class Health:
    status = 200


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract, database_url: str) -> AsyncIterator[Scenario]:
    """On SQLite and on PostgreSQL."""
    health = Health()

    async def answer(_: web.Request) -> web.Response:
        return web.json_response({"ok": health.status == 200}, status=health.status)

    app = web.Application()
    app.router.add_get("/healthz", answer)
    runner, address = await serve(app)
    async with scenario(tmp_path, slack_contract, config=verified_canary_config(f"http://{address}/healthz"),
                        start=WEDNESDAY, database_url=database_url) as running:
        running.health = health  # type: ignore[attr-defined]
        yield running
    await runner.cleanup()


async def test_each_thread_ends_with_its_report_and_a_rolled_back_release_waits_for_its_rollback(
        s: Scenario) -> None:
    good = await ship(s, "v1.0.0")
    s.health.status = 503  # type: ignore[attr-defined]
    bad = await ship(s, "v1.1.0", stages=1)
    s.health.status = 200  # type: ignore[attr-defined]
    await s.time.advance(timedelta(hours=1))
    await s.stack.settle()
    rollback = next(r for r in await s.releases() if r.kind == ReleaseKind.ROLLBACK)
    assert [(await s.release(good)).state, (await s.release(bad)).state, rollback.state] == [
        ReleaseState.SUCCEEDED, ReleaseState.ROLLED_BACK, ReleaseState.SUCCEEDED]

    first = (await s.assert_ends_with_report(good)).data
    assert [(st["label"], st["result"], st["verification"]) for st in first["stages"]] == [
        ("Stage 1/2 (10%)", "succeeded", "passed"), ("Stage 2/2 (100%)", "succeeded", "passed")]
    assert all(st["bake_seconds"] >= 300 and st["dispatched_at"] for st in first["stages"])  # baked 5m at least
    assert [c["verdict"] for st in first["stages"] for c in st["checks"]] == ["pass"] * 4  # http + alerts, twice
    assert {g["gate"]: g["verdict"] for g in first["gates"]} == {
        "not_quarantined": "pass", "ci_green": "pass", "not_locked": "pass", "approval": "pass"}
    assert (first["decided"], first["decided_by"], [v["approver"] for v in first["approvals"]]) == (
        "GO", CAROL, [CAROL])
    assert first["scope"]["commits"] is None and first["scope"]["previous_release_id"] is None  # the first one
    assert any("No rollback has succeeded in api production" in item for item in first["follow_ups"])

    # The release undone: one report, after its rollback ended, saying it was rolled back and by what.
    [undone] = await s.reports(bad)
    assert undone == await s.assert_ends_with_report(bad)
    texts = [m.text for m in s.thread(await s.release(bad))]
    assert any("Rolling back: release" in t for t in texts[:-1]) and "Rolled back by release" in texts[-2]
    data = undone.data
    assert data["state"] == "rolled_back" and data["rollback"] == {
        "rolled_back": True, "rollback_release_id": rollback.id, "rollback_state": "succeeded",
        "triggered_by": "switchman", "automatic": True, "reason": data["rollback"]["reason"],
        "at": (await s.release(bad)).rolled_back_at.isoformat()}  # type: ignore[union-attr]
    assert "answered 503, expected 200" in data["rollback"]["reason"]
    assert [(st["result"], st["verification"]) for st in data["stages"]] == [("succeeded", "failed")]
    change = (await s.release(bad)).detail["change"]
    assert data["scope"]["commits"] == change["commits"] >= 1 and data["scope"]["previous_release_id"] == good
    assert data["scope"]["first_commit_at"] == change["first_commit_at"]
    # The sandbox's oldest commit of n was made n hours before the preview, taken as gating began.
    started = (await s.release(bad)).started_at
    assert started is not None
    previewed = datetime.fromisoformat(change["first_commit_at"]) + timedelta(hours=change["commits"])
    assert started <= previewed <= started + timedelta(seconds=5)

    back = (await s.assert_ends_with_report(rollback.id or 0)).data
    assert back["kind"] == "rollback" and back["rollback"]["rollback_release_id"] == bad
    assert back["rollback"]["rollback_state"] == "rolled_back" and back["rollback"]["automatic"] is True
    assert not any("No rollback has succeeded" in item for item in back["follow_ups"])  # this one did

    async with s.stack.ctx.db.session() as session:
        assert (await ledger.verify(session)).ok


async def test_lead_time_starts_at_the_earliest_commit_kept_at_preview(s: Scenario) -> None:
    await ship(s, "v1.0.0")  # production's first: no commit times
    later = await ship(s, "v1.1.0")
    release = await s.release(later)
    assert release.state == ReleaseState.SUCCEEDED
    first_commit = datetime.fromisoformat(release.detail["change"]["first_commit_at"])

    metrics = await for_service(s.stack.ctx.db, s.stack.ctx.config, service="api", now=s.clock.now())
    lead = metrics.delivery.lead_time
    assert (lead.count, lead.median) == (1, release.verified_at - first_commit)  # type: ignore[operator]
    assert metrics.delivery.request_to_production.count == 2  # beside it, over both


async def test_an_edited_report_no_longer_matches_its_chained_hash(s: Scenario) -> None:
    good = await ship(s, "v1.0.0")
    report = await s.assert_ends_with_report(good)
    async with s.stack.ctx.db.session() as session:
        await session.exec(update(ReleaseReport).where(ReleaseReport.id == report.id)  # type: ignore[arg-type]
                           .values(data={**report.data, "state": "failed"}))
    with pytest.raises(AssertionError):
        await s.assert_ends_with_report(good)


async def test_a_report_that_cannot_be_composed_never_stops_the_release_from_ending(
        s: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a defect in the report")

    monkeypatch.setattr("bot.release.report_post.build", broken)
    await s.command(ALICE, "api v1.0.0 to staging")
    [release] = await s.releases()
    assert release.state == ReleaseState.SUCCEEDED
    assert await s.reports(release.id or 0) == []
    last = s.thread(release)[-1].text
    assert last.startswith(":warning: The post-release report could not be composed (error id `")
    assert [d.kind for d in await s.ledger(release.id)][-1] == "outcome"


async def test_switchman_export_streams_the_stored_reports(s: Scenario, database_url: str, tmp_path: Path) -> None:
    good = await ship(s, "v1.0.0")
    report = await s.assert_ends_with_report(good)
    env = os.environ | {"SWITCHMAN_DATABASE_URL": database_url}
    done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot.cli", "export", "--format", "jsonl",
                                                    "--what", "reports", "--service", "api"],
                                   env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    [line] = [json.loads(raw) for raw in done.stdout.splitlines()]
    assert (line["release_id"], line["id"], line["state"]) == (good, report.id, "succeeded")
    assert line["data"] == report.data
