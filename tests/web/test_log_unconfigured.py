"""Without a signing secret the web log is shut, and says what to set; `/deploy log` with extra words gets
its usage. Neither the secret nor a link's token ever reaches a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.slack_sim.stack import Stack
from bot.structured_log import JsonLineFormatter
from tests.contracts.slack_contract import SlackContract
from tests.web.test_log_access import enter
from tests.web.weblog_site import ALICE, SECRET, get, weblog_site


async def test_without_a_secret_log_is_shut_and_deploy_log_says_what_to_set(stack: Stack) -> None:
    base = stack.app_url.rsplit("/slack/events", 1)[0]
    status, body, _ = await get(f"{base}/log/releases")
    assert status == 503 and "SWITCHMAN_WEB_LOG_SECRET" in body
    delivery = await stack.slack.slash_command(ALICE, "/deploy", "log", channel="#api-releases")
    text = delivery.json()["text"]
    assert "No link" in text and "SWITCHMAN_WEB_LOG_SECRET" in text and "/log/enter" not in text


async def test_deploy_log_takes_no_arguments(stack: Stack) -> None:
    delivery = await stack.slack.slash_command(ALICE, "/deploy", "log api", channel="#api-releases")
    text = delivery.json()["text"]
    assert "/deploy log" in text and "/log/enter" not in text


async def test_neither_the_secret_nor_a_token_is_logged(tmp_path: Path, slack_contract: SlackContract,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with weblog_site(tmp_path, slack_contract) as site:
        link = await site.link(ALICE)
        cookies = await enter(site, link)
        await get(f"{site.base}/log/releases/7", cookies=cookies)
        await get(link.replace("t=v1.", "t=v1.x"))
    token = link.split("t=")[1]
    formatter = JsonLineFormatter()  # what `switchman serve` writes: every line through the scrubber
    logged = "\n".join(formatter.format(r) for r in caplog.records)
    assert "web log view" in logged
    for secret in (SECRET, token, token.split(".")[2], cookies["switchman_log"]):
        assert secret not in logged
