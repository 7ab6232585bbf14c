"""A release survives SIGKILL during its bake: the restarted process finishes it once, in the same thread."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

from bot.slack_sim.interactions import SlackSide
from bot.slack_sim.stack import STACK_RATE_LIMIT  # the app does not pace its posts yet
from bot.slack_sim.web_api import SlackWebApi
from bot.slack_sim.workspace import BOT_USER_ID, Workspace
from tests.contracts.slack_contract import SlackContract
from tests.support.serve_process import serve_env, start_serve

BOT_TOKEN = "xoxb-4242-4242-restarttestsecret"
SIGNING_SECRET = "fedcba9876543210fedcba9876543210"
CONFIG = """
providers:
  sandbox: {kind: sandbox, run_duration: 1s}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    environments:
      staging:
        bake: 3s
        gates: [ci_green]
"""


async def until(workspace: Workspace, predicate: Callable[[], bool], within: float = 60) -> None:
    """Wait, with a deadline, until something the app posts makes `predicate` true."""
    changed = asyncio.Event()
    workspace.subscribers.append(lambda _: changed.set())
    async with asyncio.timeout(within):
        while not predicate():
            changed.clear()
            await changed.wait()


def texts(workspace: Workspace) -> list[str]:
    return [m.text for m in sorted(workspace.messages.values(), key=lambda m: m.ts)]


async def test_sigkill_during_the_bake_then_restart_finishes_the_release_once(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    config = tmp_path / "switchman.yml"
    config.write_text(CONFIG)
    workspace = Workspace()
    workspace.add_user("U0ALICE", "alice")
    channel = workspace.add_channel("#api-releases")
    api = SlackWebApi(workspace, token=BOT_TOKEN, checker=slack_contract, rate_limit=STACK_RATE_LIMIT)
    base_url = await api.start()
    env = serve_env(tmp_path, base_url, bot_token=BOT_TOKEN, config=config, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    first, port, _ = await start_serve(tmp_path, env)
    second = None
    try:
        slack = SlackSide(api, f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET)
        assert (await slack.slash_command("U0ALICE", "/deploy", "api v1.0.0 to staging",
                                          channel=channel.id)).status == 200
        await until(workspace, lambda: any("baking for 3s" in t for t in texts(workspace)))

        first.send_signal(signal.SIGKILL)
        await first.wait()
        second, _, _ = await start_serve(tmp_path, env)
        await until(workspace, lambda: any(t.startswith(":white_check_mark: succeeded") for t in texts(workspace)))
    finally:
        for process in (first, second):
            if process is not None and process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.wait()
        await api.stop()

    parents = [m for m in workspace.messages.values() if m.thread_ts is None and m.user == BOT_USER_ID]
    assert len(parents) == 1  # one release, one thread
    parent = parents[0]
    assert "succeeded" in parent.text
    replies = [m.text for m in sorted(workspace.thread(parent.channel, parent.ts), key=lambda m: m.ts)]
    *steps, report = replies
    assert report.startswith("*Post-release report · Release #1*")  # the thread ends with the report, once
    assert not any("Post-release report" in r for r in steps)
    assert sum("dispatched" in r for r in steps) == 1  # the stage was not dispatched again
    assert sum(r.startswith(":white_check_mark: succeeded") for r in steps) == 1
    assert api.violations == []
    engine = create_engine(f"sqlite:///{tmp_path / 'serve.db'}")
    with engine.connect() as conn:
        outcomes = conn.execute(text("SELECT outcome FROM decisions WHERE kind = 'outcome'")).scalars().all()
        reports = conn.execute(text("SELECT state FROM release_reports")).scalars().all()
        state = conn.execute(text("SELECT state FROM releases")).scalars().all()
    engine.dispose()
    assert outcomes == ["succeeded"] and state == ["succeeded"] and reports == ["succeeded"]
