"""Verification after each stage, automatic and manual rollback, quarantine — on simulated time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot.release.models import EnvironmentState, ReleaseKind, ReleaseState
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, scenario
from tests.support.local_http import serve

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
WEDNESDAY = datetime(2026, 11, 18, 10, tzinfo=UTC)


class Health:
    """A service health endpoint the test controls."""

    def __init__(self) -> None:
        self.status = 200
        self.url = ""

    async def start(self) -> web.AppRunner:
        async def health(_: web.Request) -> web.Response:
            return web.json_response({"ok": self.status == 200}, status=self.status)

        app = web.Application()
        app.router.add_get("/healthz", health)
        runner, address = await serve(app)
        self.url = f"http://{address}/healthz"
        return runner


def config(health_url: str, *, auto_rollback: bool = True, extra_check: str = "") -> str:
    return f"""
providers:
{SANDBOX}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    repo: acme/api
    workflow: deploy.yml
    rollback_workflow: rollback.yml
    environments:
      production:
        strategy: canary
        stages: [10, 50, 100]
        bake: 5m
        gates: [ci_green, not_locked, {{approval: {{count: 1, group: "@sre"}}}}]
        verify:
          - {{http: {{url: "{health_url}", status: 200}}}}{extra_check}
        auto_rollback: {"true" if auto_rollback else "false"}
        deployers: ["@api-devs"]
        overriders: ["@sre"]
"""


@pytest.fixture
async def health() -> AsyncIterator[Health]:
    endpoint = Health()
    runner = await endpoint.start()
    yield endpoint
    await runner.cleanup()


async def ship(s: Scenario, ref: str) -> int:
    """Deploy `ref` to production, approve it and let every stage bake; returns the release id."""
    await s.command(ALICE, f"api {ref} to production")
    release = (await s.releases())[-1]
    await s.press(CAROL, release, ActionId.APPROVE)
    for _ in range(3):
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()
    return release.id or 0


async def test_a_healthy_canary_goes_through_every_stage(tmp_path: Path, slack_contract: SlackContract,
                                                         health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        release_id = await ship(s, "v1.0.0")
        release = await s.release(release_id)
        assert release.state == ReleaseState.SUCCEEDED and release.verified_at is not None
        thread = s.thread_text(release)
        for stage in ("Stage 1/3 (10%)", "Stage 2/3 (50%)", "Stage 3/3 (100%)"):
            assert f"{stage}: baking for 5m" in thread
        assert thread.count(f":white_check_mark: *http {health.url}* — pass") == 3
        report = (await s.assert_ends_with_report(release_id)).data
        assert [st["verification"] for st in report["stages"]] == ["passed"] * 3


async def test_a_failing_check_stops_the_rollout_and_rolls_back_automatically(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        good = await ship(s, "v1.0.0")
        await s.command(ALICE, "api v1.1.0 to production")
        bad = (await s.releases())[-1]
        await s.press(CAROL, bad, ActionId.APPROVE)
        health.status = 503
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()

        bad = await s.release(bad.id or 0)
        assert bad.state == ReleaseState.ROLLED_BACK and bad.stage_index == 0  # stopped at its first stage
        assert bad.detected_at is not None and bad.rolled_back_at is not None
        rollback = (await s.releases())[-1]
        assert (rollback.kind, rollback.rollback_of, rollback.ref) == (ReleaseKind.ROLLBACK, bad.id, "v1.0.0")
        assert rollback.state == ReleaseState.SUCCEEDED
        bad_thread = s.thread_text(bad)
        assert f"*http {health.url}* — fail" in bad_thread and "answered 503, expected 200" in bad_thread
        assert f"Rolling back: release #{rollback.id}" in bad_thread and "quarantined in production" in bad_thread
        rollback_thread = s.thread_text(rollback)
        assert f"Automatic rollback of #{bad.id} to `v1.0.0` (release #{good})" in rollback_thread
        assert "answered 503" in rollback_thread  # the evidence travels with the rollback
        # Its preview names what it takes out: from the bad commit (running now) back to the good one.
        assert (f"takes out 1 commit — from `{(bad.sha or '')[:10]}` (running now) back to "
                f"`{(rollback.sha or '')[:10]}`") in rollback_thread
        assert "*ci_green*" not in rollback_thread and "*approval*" not in rollback_thread  # slow gates skipped
        assert s.stack.ctx.providers["sandbox"].reports  # mirrored
        kinds = [d.kind for d in await s.ledger(bad.id)]
        assert "rollback_trigger" in kinds
        assert kinds.count("report") == 1  # it waited for its rollback: one report, saying it was rolled back
        assert (await s.assert_ends_with_report(bad.id or 0)).data["rollback"]["rolled_back"] is True
        await s.assert_ends_with_report(rollback.id or 0)


async def test_rollback_defaults_to_the_last_verified_release_and_quarantines_the_bad_commit(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        first = await ship(s, "v1.0.0")
        second = await ship(s, "v2.0.0")
        await s.command(ALICE, 'api production --reason "checkout errors"', command="/rollback")
        rollback = (await s.releases())[-1]
        assert (rollback.kind, rollback.ref, rollback.rollback_of) == (ReleaseKind.ROLLBACK, "v1.0.0", second)
        assert rollback.state == ReleaseState.SUCCEEDED
        assert f"<@{ALICE}> rolls back #{second} to `v1.0.0` (release #{first})" in s.thread_text(rollback)
        async with s.stack.ctx.db.session() as session:
            state = await session.get(EnvironmentState, ("api", "production"))
        assert state is not None and state.current_ref == "v1.0.0"
        assert state.quarantined_sha == (await s.release(second)).sha
        # Reported when it succeeded, and again when a person rolled it back: the thread ends with the latter.
        assert [r.state for r in await s.reports(second)] == ["succeeded", "rolled_back"]
        undone = (await s.assert_ends_with_report(second)).data["rollback"]
        assert (undone["triggered_by"], undone["automatic"], undone["reason"]) == (ALICE, False, "checkout errors")
        await s.assert_ends_with_report(rollback.id or 0)

        await s.command(ALICE, "api v2.0.0 to production")  # the quarantined commit
        blocked = (await s.releases())[-1]
        assert blocked.state == ReleaseState.BLOCKED
        assert "is quarantined there until a newer commit is deployed" in s.thread_text(blocked)
        gates = {g["gate"]: g["verdict"] for g in (await s.assert_ends_with_report(blocked.id or 0)).data["gates"]}
        assert gates["not_quarantined"] == "fail"

        await ship(s, "v2.0.1")  # a newer commit lifts the quarantine
        await ship(s, "v2.0.0")
        assert (await s.releases())[-1].state == ReleaseState.SUCCEEDED


async def test_rollback_needs_authorization_and_something_to_roll_back(tmp_path: Path, slack_contract: SlackContract,
                                                                       health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        await s.command(ALICE, "api production", command="/rollback")
        assert any("nothing to roll back" in t for t in s.ephemerals(ALICE))
        await ship(s, "v1.0.0")
        await s.command("U01OPS1", "api production", command="/rollback")  # ops1 is no deployer
        assert any("you are not allowed to deploy to production" in t for t in s.ephemerals("U01OPS1"))
        await s.command(ALICE, "api production", command="/rollback")
        assert any("no verified release of api in production other than" in t for t in s.ephemerals(ALICE))
        assert [r.kind for r in await s.releases()] == [ReleaseKind.DEPLOY]


async def test_no_data_pauses_with_promote_and_abort(tmp_path: Path, slack_contract: SlackContract,
                                                     health: Health) -> None:
    no_data = "\n          - {http: {url: \"" + health.url + "\", json_field: latency_ms}}"
    async with scenario(tmp_path, slack_contract, config=config(health.url, extra_check=no_data),
                        start=WEDNESDAY) as s:
        await s.command(ALICE, "api v1.0.0 to production")
        release = (await s.releases())[-1]
        await s.press(CAROL, release, ActionId.APPROVE)
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()
        assert (await s.release(release.id or 0)).state == ReleaseState.PAUSED
        assert "*Rollout paused.* Verification is inconclusive" in s.thread_text(release)

        await s.press(ALICE, release, ActionId.PROMOTE)  # alice is no overrider
        assert any("only production's overriders (@sre) can promote" in t for t in s.ephemerals(ALICE))
        await s.press(CAROL, release, ActionId.PROMOTE)
        release = await s.release(release.id or 0)
        assert (release.state, release.stage_index) == (ReleaseState.VERIFYING, 1)  # baking stage 2
        assert [d.outcome for d in await s.ledger(release.id) if d.kind == "override"] == ["promoted"]

        await s.time.advance(timedelta(minutes=5))  # inconclusive again at stage 2…
        await s.stack.settle()
        await s.press(ALICE, release, ActionId.ABORT)  # …and the requester aborts: rolled back
        assert (await s.release(release.id or 0)).state == ReleaseState.FAILED  # nothing verified to go back to
        follow_ups = (await s.assert_ends_with_report(release.id or 0)).data["follow_ups"]
        assert any(f"<@{CAROL}> promoted past the inconclusive verification of Stage 1/3" in f for f in follow_ups)
        assert any("`http " in f and "was inconclusive after Stage 1/3" in f for f in follow_ups)


async def test_the_parent_message_shows_the_stage_in_progress(tmp_path: Path, slack_contract: SlackContract,
                                                              health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        await s.command(ALICE, "api v1.0.0 to production")
        release = (await s.releases())[-1]
        await s.press(CAROL, release, ActionId.APPROVE)
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()
        fields = [f["text"] for b in s.parent(release).blocks for f in b.get("fields", [])]
        assert "*Stage*\nStage 2/3 (50%)" in fields
