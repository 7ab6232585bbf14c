"""`switchman serve` as users run it: a real process, a fake Slack Web API, signed HTTP requests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.commands import deploy
from bot.settings import EXAMPLE_CONFIG
from bot.slack_sim.interactions import SlackSide
from bot.slack_sim.stack import STACK_RATE_LIMIT  # the app does not pace its posts yet
from bot.slack_sim.web_api import SlackWebApi
from bot.slack_sim.workspace import Workspace
from tests.contracts.slack_contract import SlackContract
from tests.support.serve_process import SWITCHMAN, serve_env, start_serve

BOT_TOKEN = "xoxb-4242-4242-servetestsecret"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"


@dataclass
class Served:
    url: str
    process: asyncio.subprocess.Process
    api: SlackWebApi
    log_lines: list[str]


@pytest.fixture
async def served(tmp_path: Path, slack_contract: SlackContract) -> AsyncIterator[Served]:
    workspace = Workspace()
    workspace.add_user("U0ALICE", "alice")
    api = SlackWebApi(workspace, token=BOT_TOKEN, checker=slack_contract, rate_limit=STACK_RATE_LIMIT)
    base_url = await api.start()
    env = serve_env(tmp_path, base_url, bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    process, port, lines = await start_serve(tmp_path, env)
    try:
        yield Served(f"http://127.0.0.1:{port}", process, api, lines)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)
        await api.stop()


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_serve_answers_signed_commands_and_refuses_bad_signatures(served: Served) -> None:
    slack = SlackSide(served.api, f"{served.url}/slack/events", SIGNING_SECRET)

    good = await slack.slash_command("U0ALICE", "/deploy", "help", channel="C0TEST")
    bad = await slack.slash_command("U0ALICE", "/deploy", "help", channel="C0TEST", signature="v0=" + "f" * 64)

    assert good.status == 200
    assert good.json()["text"] == deploy.USAGE
    assert bad.status == 401
    assert served.api.violations == []


async def test_health_readiness_and_metrics(served: Served) -> None:
    assert (await _get(f"{served.url}/healthz"))[0] == 200
    status, body = await _get(f"{served.url}/readyz")
    assert (status, json.loads(body)["database"]) == (200, "ok")
    slack = SlackSide(served.api, f"{served.url}/slack/events", SIGNING_SECRET)
    await slack.slash_command("U0ALICE", "/oncall", "help", channel="C0TEST")

    status, metrics = await _get(f"{served.url}/metrics")

    assert status == 200
    assert 'switchman_http_requests_total{route="/slack/events",status="200"} 1.0' in metrics
    assert "switchman_slack_ack_seconds_count 1.0" in metrics
    frozen = next(line for line in metrics.splitlines() if line.startswith("switchman_gc_frozen_objects "))
    assert float(frozen.split()[1]) > 10_000  # start-up's heap is left out of later collections (decision 0010)


async def test_shutdown_is_clean_and_logs_hold_no_secret(served: Served) -> None:
    slack = SlackSide(served.api, f"{served.url}/slack/events", SIGNING_SECRET)
    await slack.slash_command("U0ALICE", "/rollback", "help", channel="C0TEST")

    served.process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(served.process.wait(), timeout=30) == 0
    assert served.process.stderr is not None
    served.log_lines += (await served.process.stderr.read()).decode().splitlines()

    text = "\n".join(served.log_lines)
    assert "shutting down" in text
    assert BOT_TOKEN not in text and SIGNING_SECRET not in text
    assert all(json.loads(line) for line in served.log_lines if line.strip())


async def test_serve_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SWITCHMAN_"))}
    env["SLACK_BOT_TOKEN"] = BOT_TOKEN
    process = await asyncio.create_subprocess_exec(str(SWITCHMAN), "serve", "--port", "0", env=env, cwd=tmp_path,
                                                   stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    assert "SLACK_SIGNING_SECRET" in err.decode()
    assert BOT_TOKEN not in err.decode()


async def test_socket_mode_answers_commands_over_the_socket_and_keeps_http_for_health(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    app_token = "xapp-1-A0SWITCH-1-sockettestsecret"
    api = SlackWebApi(Workspace(), token=BOT_TOKEN, checker=slack_contract, app_token=app_token,
                      rate_limit=STACK_RATE_LIMIT)
    base_url = await api.start()
    assert api.socket_mode is not None
    env = serve_env(tmp_path, base_url, bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG, SLACK_APP_TOKEN=app_token)
    process, port, lines = await start_serve(tmp_path, env)
    try:
        await asyncio.wait_for(api.socket_mode.connected.wait(), timeout=30)

        form = "command=%2Fdeploy&text=help&user_id=U0ALICE&channel_id=C0TEST&team_id=T0SWITCHSIM" \
               "&response_url=http%3A%2F%2F127.0.0.1%2Fnone&trigger_id=1.2.3"
        ack = await api.socket_mode.send_form("slash_commands", form)

        assert ack["text"] == deploy.USAGE
        assert json.loads(next(line for line in lines if '"serving"' in line))["mode"] == "socket"
        assert (await _get(f"http://127.0.0.1:{port}/healthz"))[0] == 200
        async with aiohttp.ClientSession() as session, session.post(f"http://127.0.0.1:{port}/slack/events") as r:
            assert r.status == 404  # Slack reaches the app over the socket, not over HTTP
        assert api.violations == []
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
        await api.stop()
    assert app_token not in "\n".join(lines) + (await process.stderr.read()).decode()  # type: ignore[union-attr]
