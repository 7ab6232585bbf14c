"""`switchman serve` picks HTTP or Socket Mode from the environment, and refuses a malformed app token at once.

What runs over the socket is in test_serve.py (a local Socket Mode server speaks to the real handler);
a refused app token is in test_startup_checks.py. Not testable here: Slack's own Socket Mode endpoint.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.serve import malformed_tokens, slack_mode
from bot.settings import EXAMPLE_CONFIG, Settings
from tests.support.serve_process import SWITCHMAN, serve_env

BOT_TOKEN = "xoxb-4242-4242-servemodesecret"


def settings_with(**env: str) -> Settings:
    return Settings.from_env({"SWITCHMAN_CONFIG": str(EXAMPLE_CONFIG), "SLACK_BOT_TOKEN": BOT_TOKEN, **env})


def test_the_mode_follows_the_app_token() -> None:
    assert slack_mode(settings_with(SLACK_SIGNING_SECRET="s" * 32)) == "http"
    assert slack_mode(settings_with(SLACK_APP_TOKEN="xapp-1-A0SWITCH-1-secret")) == "socket"
    assert slack_mode(settings_with(SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET="s" * 32)) == "http"  # empty = unset


@pytest.mark.parametrize(("token", "hint"), [
    ("xoxb-4242-4242-notanapptoken", "it looks like a bot token"),
    ("A0SWITCH-secretvalue", "starting xapp-"),
])
def test_a_malformed_app_token_is_named_without_quoting_it(token: str, hint: str) -> None:
    problems = malformed_tokens(settings_with(SLACK_APP_TOKEN=token))

    assert len(problems) == 1 and hint in problems[0] and token not in problems[0]
    assert "connections:write" in problems[0]
    assert malformed_tokens(settings_with(SLACK_APP_TOKEN="xapp-1-A0SWITCH-1-secret")) == []


async def test_serve_refuses_a_malformed_app_token_before_calling_slack(tmp_path: Path) -> None:
    wrong = "xoxb-4242-4242-pastedintothewrongvariable"
    # Nothing listens at this Slack URL: the refusal must come before any call to it.
    env = serve_env(tmp_path, "http://127.0.0.1:9/api/", bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG,
                    SLACK_APP_TOKEN=wrong)
    process = await asyncio.create_subprocess_exec(str(SWITCHMAN), "serve", "--port", "0", "--example", env=env,
                                                   cwd=tmp_path, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 2
    assert "SLACK_APP_TOKEN must be an app-level token starting xapp-" in err.decode()
    assert wrong not in err.decode() and BOT_TOKEN not in err.decode()
