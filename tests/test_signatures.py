"""`/slack/events` strictly: what cannot be verified is 401, a signed body Slack would not send is 400.

Real signed HTTP requests to the real aiohttp server and Bolt app (the simulated stack on loopback);
never a 200 that runs something, never a 500.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from bot.commands import deploy
from bot.settings import EXAMPLE_CONFIG
from bot.slack_sim.interactions import sign
from bot.slack_sim.stack import Stack
from bot.slack_sim.web_api import SlackWebApi
from bot.slack_sim.workspace import Workspace
from tests.contracts.slack_contract import SlackContract
from tests.support.serve_process import serve_env, start_serve

BOT_TOKEN = "xoxb-4242-4242-signaturetestsecret"
SIGNING_SECRET = "00112233445566778899aabbccddeeff"
FORM = "application/x-www-form-urlencoded"
COMMAND = urlencode({"command": "/deploy", "text": "help", "user_id": "U0ALICE", "channel_id": "C0TEST",
                     "team_id": "T0SWITCHSIM", "response_url": "http://127.0.0.1:9/none", "trigger_id": "1.2.3"})


async def post(stack: Stack, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(stack.app_url, data=body, headers=headers) as r:
        return r.status, await r.text()


def signed(stack: Stack, body: bytes, content_type: str, *, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(stack.slack.signing_secret, body.decode("utf-8", "replace"), stamp)}


def signed_bytes(stack: Stack, body: bytes, content_type: str) -> dict[str, str]:
    """Signed over the raw bytes (for a body that is not UTF-8)."""
    stamp = str(int(time.time()))
    digest = hmac.new(stack.slack.signing_secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + digest.hexdigest()}


async def test_a_well_signed_command_is_still_answered(stack: Stack) -> None:
    status, body = await post(stack, COMMAND.encode(), signed(stack, COMMAND.encode(), FORM))

    assert status == 200
    assert json.loads(body)["text"] == deploy.USAGE


@pytest.mark.parametrize("timestamp", ["soon", "12e9", "-1", " 1700000000", "１７００００００００", ""])
async def test_a_timestamp_that_is_not_a_number_is_401(stack: Stack, timestamp: str) -> None:
    headers = signed(stack, COMMAND.encode(), FORM, timestamp=timestamp or None)
    headers["X-Slack-Request-Timestamp"] = timestamp

    status, body = await post(stack, COMMAND.encode(), headers)

    assert status == 401, body
    assert stack.api.calls == []


@pytest.mark.parametrize("drop", ["X-Slack-Signature", "X-Slack-Request-Timestamp"])
async def test_a_missing_header_is_401(stack: Stack, drop: str) -> None:
    headers = signed(stack, COMMAND.encode(), FORM)
    del headers[drop]

    status, _ = await post(stack, COMMAND.encode(), headers)

    assert status == 401


@pytest.mark.parametrize("signature", ["v0=" + "0" * 64, "v0=zz", "", "v1=é", "sha256"])
async def test_a_wrong_or_malformed_signature_is_401(stack: Stack, signature: str) -> None:
    headers = signed(stack, COMMAND.encode(), FORM)
    headers["X-Slack-Signature"] = signature

    status, _ = await post(stack, COMMAND.encode(), headers)

    assert status == 401


async def test_a_stale_timestamp_is_401_even_when_signed(stack: Stack) -> None:
    stale = str(int(time.time()) - 6 * 60)

    status, _ = await post(stack, COMMAND.encode(), signed(stack, COMMAND.encode(), FORM, timestamp=stale))

    assert status == 401


@pytest.mark.parametrize(("body", "content_type"), [
    (b"payload=not-json", FORM),
    (b"payload=%5B1%2C2%5D", FORM),  # JSON, but not an object
    (b"payload=%7B%22type%22%3A", FORM),  # cut-off JSON
    (b"{\"type\": ", FORM),  # Bolt reads a body starting with { as JSON whatever its label
    (b"[1, 2]", "application/json"),
    (b"not json", "application/json"),
    (b"just some words", "text/plain"),
    (COMMAND.encode(), "text/plain"),
    (b"a=1&b", FORM),  # a field without =
    (b"<xml/>", "application/xml"),
])
async def test_a_signed_body_slack_would_not_send_is_400(stack: Stack, body: bytes, content_type: str) -> None:
    status, text = await post(stack, body, signed(stack, body, content_type))

    assert status == 400, text
    assert stack.api.calls == []


async def test_a_signed_body_that_is_not_utf8_is_400(stack: Stack) -> None:
    body = b"command=%2Fdeploy&text=\xff\xfe"

    status, _ = await post(stack, body, signed_bytes(stack, body, FORM))

    assert status == 400


async def test_slacks_ssl_check_is_answered_and_runs_nothing(stack: Stack) -> None:
    status, _ = await post(stack, b"ssl_check=1&token=legacy", {"Content-Type": FORM})

    assert status == 200
    assert stack.api.calls == []


async def test_switchman_serve_refuses_them_too_and_counts_them(tmp_path: Path, slack_contract: SlackContract) -> None:
    """The same checks in the real `switchman serve` process, seen on /metrics."""
    api = SlackWebApi(Workspace(), token=BOT_TOKEN, checker=slack_contract)
    env = serve_env(tmp_path, await api.start(), bot_token=BOT_TOKEN, config=EXAMPLE_CONFIG,
                    SLACK_SIGNING_SECRET=SIGNING_SECRET)
    process, port, _ = await start_serve(tmp_path, env)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            bad_stamp = {"Content-Type": FORM, "X-Slack-Request-Timestamp": "noon",
                         "X-Slack-Signature": sign(SIGNING_SECRET, COMMAND, "noon")}  # type: ignore[arg-type]
            async with session.post(f"{url}/slack/events", data=COMMAND.encode(), headers=bad_stamp) as r:
                assert r.status == 401
            stamp = int(time.time())
            not_json = {"Content-Type": FORM, "X-Slack-Request-Timestamp": str(stamp),
                        "X-Slack-Signature": sign(SIGNING_SECRET, "payload=oops", stamp)}
            async with session.post(f"{url}/slack/events", data=b"payload=oops", headers=not_json) as r:
                assert r.status == 400
            async with session.get(f"{url}/metrics") as r:
                metrics = await r.text()
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
        await api.stop()

    assert 'switchman_http_requests_total{route="/slack/events",status="401"} 1.0' in metrics
    assert 'switchman_http_requests_total{route="/slack/events",status="400"} 1.0' in metrics
    assert api.calls_of("auth.test") and len(api.calls) == len(api.calls_of("auth.test"))
