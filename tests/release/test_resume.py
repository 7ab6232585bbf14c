"""Restarts in the middle of a release (defect 8): nothing recorded twice, nothing dispatched twice.

The first process is stopped the hard way — its background work cancelled mid-step, as a crash
would leave it — and a second one starts on the same database and the same Slack workspace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlmodel import select

from bot.release.models import GateResult, Release, ReleaseState
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from bot.slack_sim.stack import Stack, simulated_stack
from bot.slack_sim.workspace import Workspace
from tests.contracts.slack_contract import SlackContract

START = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


class SlowGate:
    """An HTTP endpoint a gate calls, which answers only when the test lets it."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()
        self.calls = 0

    async def handle(self, _: web.Request) -> web.Response:
        self.calls += 1
        self.asked.set()
        await self.answer.wait()
        return web.Response(text="ok")


async def _serve(gate: SlowGate) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/artifact", gate.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/artifact"


def _config(url: str) -> str:
    return f"""
providers:
  sandbox: {{kind: sandbox, run_duration: 30s}}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    repo: acme/api
    environments:
      staging:
        gates: [ci_green, not_locked, {{http: {{url: "{url}", status: 200, timeout: 60s}}}}]
"""


async def until(predicate: Callable[[], bool], stack: Stack, within: float = 30) -> None:
    changed = asyncio.Event()
    stack.workspace.subscribers.append(lambda _: changed.set())
    async with asyncio.timeout(within):
        while not predicate():
            changed.clear()
            await changed.wait()


async def crash(stack: Stack) -> None:
    """Stop every task of the process where it stands, as SIGKILL would (nothing finishes cleanly)."""
    await stack.ctx.background.close()


async def _stacks(tmp_path: Path, slack_contract: SlackContract, url: str) -> AsyncIterator[Settings]:
    config = tmp_path / "switchman.yml"
    config.write_text(_config(url))
    yield Settings.from_env({"SWITCHMAN_DATABASE_URL": f"sqlite:///{tmp_path / 'switchman.db'}",
                             "SWITCHMAN_CONFIG": str(config)})


async def test_a_restart_while_gating_reuses_the_verdicts_already_recorded(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    gate = SlowGate()
    runner, url = await _serve(gate)
    settings = await anext(_stacks(tmp_path, slack_contract, url))
    workspace, time = Workspace(), SimulatedTime(START)
    try:
        async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as first:
            await first.slack.slash_command("U0ALICE", "/deploy", "api v1.0.0 to staging", channel="#api-releases")
            await asyncio.wait_for(gate.asked.wait(), 30)
            await until(lambda: sum("ci_green" in m.text or "not_locked" in m.text
                                    for m in workspace.messages.values()) >= 2, first)
            await crash(first)
        gate.answer.set()
        async with simulated_stack(settings, checker=slack_contract, time=time, workspace=workspace) as second:
            await second.settle()
            async with second.ctx.db.session() as session:
                release = (await session.exec(select(Release))).one()
                results = (await session.exec(select(GateResult))).all()
            assert release.state == ReleaseState.SUCCEEDED
            assert sorted(r.gate for r in results) == ["ci_green", "http", "not_locked", "not_quarantined"]
            assert release.channel_id and release.message_ts
            replies = [m.text for m in workspace.thread(release.channel_id, release.message_ts)]
            for name in ("ci_green", "not_locked", "not_quarantined", "http"):
                assert sum(t.startswith(f"{name}:") for t in replies) == 1, replies
            parents = [m for m in workspace.messages.values() if m.thread_ts is None]
            assert len(parents) == 1
            assert second.api.violations == []
    finally:
        await runner.cleanup()
