"""`switchman serve` checks what it serves: the bot token (auth.test), the config, and readiness (§10)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from bot.runtime import build_context, close_context
from bot.settings import EXAMPLE_CONFIG, Settings
from bot.slack.app_factory import web_client
from bot.slack.token_check import SlackProbe, SlackUnreachable, TokenRefused, require_token
from bot.slack_sim.web_api import SlackWebApi
from bot.slack_sim.workspace import Workspace
from bot.web.server import Readiness, build_web_app, start_site
from tests.contracts.slack_contract import SlackContract
from tests.support.serve_process import SWITCHMAN, read_until_serving, serve_env, start_serve

BOT_TOKEN = "xoxb-4242-4242-startupchecksecret"
SIGNING_SECRET = "fedcba9876543210fedcba9876543210"


@pytest.fixture
async def slack_api(slack_contract: SlackContract) -> AsyncIterator[SlackWebApi]:
    api = SlackWebApi(Workspace(), token=BOT_TOKEN, checker=slack_contract)
    await api.start()
    yield api
    await api.stop()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run_serve(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(str(SWITCHMAN), "serve", "--host", "127.0.0.1", "--port", "0",
                                                   *args, env=env, cwd=cwd, stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, err.decode()


# --- the token, at start ---------------------------------------------------------------------

async def test_serve_refuses_a_token_slack_does_not_know(tmp_path: Path, slack_api: SlackWebApi) -> None:
    wrong = "xoxb-4242-4242-notthetokenslackknows"
    env = serve_env(tmp_path, slack_api.base_url, bot_token=wrong, config=EXAMPLE_CONFIG,
                    SLACK_SIGNING_SECRET=SIGNING_SECRET)

    code, err = await run_serve(env, tmp_path)

    assert code == 2
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in err
    assert wrong not in err
    assert [c.method for c in slack_api.calls] == ["auth.test"]  # nothing else was tried
    assert not (tmp_path / "serve.db").exists()  # refused before touching the database


@pytest.mark.parametrize("error", ["account_inactive", "token_revoked"])
async def test_serve_refuses_a_token_slack_has_disabled(tmp_path: Path, slack_api: SlackWebApi, error: str) -> None:
    slack_api.fail("auth.test", error=error)
    env = serve_env(tmp_path, slack_api.base_url, bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG,
                    SLACK_SIGNING_SECRET=SIGNING_SECRET)

    code, err = await run_serve(env, tmp_path)

    assert code == 2
    assert f"({error})" in err and BOT_TOKEN not in err


async def test_serve_gives_up_when_slack_does_not_answer_within_the_start_up_wait(tmp_path: Path) -> None:
    env = serve_env(tmp_path, f"http://127.0.0.1:{closed_port()}/api/", bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG,
                    SLACK_SIGNING_SECRET=SIGNING_SECRET, SWITCHMAN_SLACK_STARTUP_WAIT="1s")

    code, err = await run_serve(env, tmp_path)

    assert code == 1
    assert "Slack did not answer auth.test" in err
    assert "retrying" in err  # it tried more than once before giving up
    assert BOT_TOKEN not in err


async def test_start_up_retries_with_backoff_while_slack_fails_then_goes_on(slack_api: SlackWebApi) -> None:
    slack_api.fail("auth.test", status=503, times=2)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    await require_token(web_client(BOT_TOKEN, slack_api.base_url), wait_up_to=60, sleep=sleep)

    assert pauses == [1.0, 2.0]
    assert len(slack_api.calls_of("auth.test")) == 3


async def test_start_up_waits_no_longer_than_its_budget(slack_api: SlackWebApi) -> None:
    slack_api.fail("auth.test", status=500, times=100)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    with pytest.raises(SlackUnreachable, match=r"did not answer auth.test for 20s"):
        await require_token(web_client(BOT_TOKEN, slack_api.base_url), wait_up_to=20, sleep=sleep)

    assert pauses == [1.0, 2.0, 4.0, 8.0, 5.0]  # doubling, cut to what is left of the 20 s


async def test_a_refused_token_is_not_retried(slack_api: SlackWebApi) -> None:
    async def sleep(_: float) -> None:
        raise AssertionError("a refused token must not be retried")

    with pytest.raises(TokenRefused):
        await require_token(web_client("xoxb-wrong", slack_api.base_url), wait_up_to=60, sleep=sleep)


# --- the config ---------------------------------------------------------------------------------

async def test_serve_refuses_the_shipped_example_when_no_config_is_given(tmp_path: Path,
                                                                         slack_api: SlackWebApi) -> None:
    env = serve_env(tmp_path, slack_api.base_url, bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG,
                    SLACK_SIGNING_SECRET=SIGNING_SECRET)
    del env["SWITCHMAN_CONFIG"]  # and tmp_path holds no switchman.yml

    code, err = await run_serve(env, tmp_path)

    assert code == 2
    assert "no configuration: set SWITCHMAN_CONFIG=" in err
    assert "switchman serve --example" in err
    assert slack_api.calls == []


async def test_serve_runs_the_shipped_example_with_example_flag(tmp_path: Path, slack_api: SlackWebApi) -> None:
    env = serve_env(tmp_path, slack_api.base_url, bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG,
                    SLACK_SIGNING_SECRET=SIGNING_SECRET)
    del env["SWITCHMAN_CONFIG"]
    process = await asyncio.create_subprocess_exec(
        str(SWITCHMAN), "serve", "--example", "--host", "127.0.0.1", "--port", "0", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []
    try:
        await asyncio.wait_for(read_until_serving(process, lines), timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
    assert any("serving the shipped example configuration" in line for line in lines)


async def test_a_local_switchman_yml_is_served_without_the_flag(tmp_path: Path, slack_api: SlackWebApi) -> None:
    (tmp_path / "switchman.yml").write_text(EXAMPLE_CONFIG.read_text())
    env = serve_env(tmp_path, slack_api.base_url, bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG,
                    SLACK_SIGNING_SECRET=SIGNING_SECRET)
    del env["SWITCHMAN_CONFIG"]

    process, port, _ = await start_serve(tmp_path, env)
    process.send_signal(signal.SIGTERM)

    assert port > 0
    assert await asyncio.wait_for(process.wait(), timeout=30) == 0


# --- readiness ----------------------------------------------------------------------------------

class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def readyz(url: str) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/readyz") as response:
        return response.status, json.loads(await response.text())


async def served_web(settings: Settings, readiness: Readiness, now: FakeMonotonic, *, migrate: bool = True
                     ) -> AsyncIterator[str]:
    """The web app of `serve` with its Slack probe on `now`; one iteration, then everything stops."""
    ctx = await build_context(settings, migrate=migrate)
    readiness.slack = SlackProbe(ctx.slack, now=now)
    runner, port = await start_site(build_web_app(ctx, None, ctx.metrics, readiness=readiness), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await close_context(ctx)


@pytest.fixture
def readiness_clock() -> FakeMonotonic:
    return FakeMonotonic()


async def test_readyz_says_slack_is_unreachable_and_caches_its_check(settings: Settings,
                                                                      slack_api: SlackWebApi,
        readiness_clock: FakeMonotonic) -> None:
    settings = replace(settings, bot_token=BOT_TOKEN, slack_api_url=slack_api.base_url)
    readiness = Readiness()
    async for url in served_web(settings, readiness, readiness_clock):
        assert await readyz(url) == (200, {"status": "ok", "database": "ok", "slack": "ok"})
        assert await readyz(url) == (200, {"status": "ok", "database": "ok", "slack": "ok"})
        assert len(slack_api.calls_of("auth.test")) == 1  # the second probe was answered from the cache

        await slack_api.stop()
        readiness_clock.now += 6  # past the cache

        assert await readyz(url) == (503, {"status": "unavailable", "database": "ok", "slack": "unreachable"})


async def test_readyz_says_a_refused_token_is_not_ready(settings: Settings, slack_api: SlackWebApi,
        readiness_clock: FakeMonotonic) -> None:
    settings = replace(settings, bot_token=BOT_TOKEN, slack_api_url=slack_api.base_url)
    async for url in served_web(settings, Readiness(), readiness_clock):
        slack_api.fail("auth.test", error="token_revoked")
        readiness_clock.now += 6

        assert await readyz(url) == (503, {"status": "unavailable", "database": "ok", "slack": "token refused"})


async def test_readyz_says_the_database_is_unreachable(settings: Settings, slack_api: SlackWebApi,
        readiness_clock: FakeMonotonic) -> None:
    nowhere = f"postgresql://switchman:unused@127.0.0.1:{closed_port()}/switchman"
    settings = replace(settings, bot_token=BOT_TOKEN, slack_api_url=slack_api.base_url, database_url=nowhere)
    async for url in served_web(settings, Readiness(), readiness_clock, migrate=False):
        readiness_clock.now += 6

        assert await readyz(url) == (503, {"status": "unavailable", "database": "unreachable", "slack": "ok"})


async def test_readyz_turns_503_while_shutting_down(settings: Settings, slack_api: SlackWebApi,
        readiness_clock: FakeMonotonic) -> None:
    settings = replace(settings, bot_token=BOT_TOKEN, slack_api_url=slack_api.base_url)
    readiness = Readiness()
    async for url in served_web(settings, readiness, readiness_clock):
        readiness.draining = True

        status, body = await readyz(url)

        assert (status, body["status"]) == (503, "shutting down")


async def test_socket_mode_refuses_an_app_token_slack_does_not_know(tmp_path: Path,
                                                                    slack_contract: SlackContract) -> None:
    api = SlackWebApi(Workspace(), token=BOT_TOKEN, checker=slack_contract, app_token="xapp-1-A0SWITCH-1-right")
    await api.start()
    wrong = "xapp-1-A0SWITCH-1-wrongsecretvalue"
    env = serve_env(tmp_path, api.base_url, bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG, SLACK_APP_TOKEN=wrong)
    try:
        code, err = await run_serve(env, tmp_path)
    finally:
        await api.stop()

    assert code == 2  # before, Socket Mode retried the refused token for ever and never served
    assert "Slack refused SLACK_APP_TOKEN (invalid_auth)" in err
    assert wrong not in err
