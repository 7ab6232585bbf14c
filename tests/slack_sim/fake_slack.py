"""Running the simulated Slack Web API on its own, on a free loopback port, with slack_sdk as the client.

Time is simulated (the fake's clock; sleeping advances it); every request and response is checked
against the Slack contract, and a test fails if the fake saw a call Slack would reject.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.simulated_time import SimulatedTime
from bot.slack_sim.failures import DEFAULT_RATE_LIMIT, RateLimit
from bot.slack_sim.web_api import ContractChecker, SlackWebApi
from bot.slack_sim.workspace import Workspace

TOKEN = "xoxb-sim-fake-web-api"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Fake:
    api: SlackWebApi
    workspace: Workspace
    time: SimulatedTime
    channel: str  # id of #releases

    def client(self, *, timeout: float = 5) -> AsyncWebClient:
        """slack_sdk as the bot uses it; no retry handlers, so each test sees every answer."""
        return AsyncWebClient(token=TOKEN, base_url=self.api.base_url, timeout=timeout,  # type: ignore[arg-type]
                              retry_handlers=[])


@asynccontextmanager
async def running_fake(checker: ContractChecker | None, *,
                       rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT) -> AsyncIterator[Fake]:
    workspace = Workspace()
    workspace.add_user("U0ALICE", "alice")
    channel = workspace.add_channel("#releases")
    time = SimulatedTime(START)
    api = SlackWebApi(workspace, token=TOKEN, checker=checker, clock=time.now, rate_limit=rate_limit)
    await api.start()
    try:
        yield Fake(api, workspace, time, channel.id)
    finally:
        await api.stop()


async def refusal(call: Awaitable[Any]) -> AsyncSlackResponse:
    """The answer to a client call that fails (SlackApiError): status, headers and body."""
    with pytest.raises(SlackApiError) as raised:
        await call
    response: AsyncSlackResponse = raised.value.response
    return response
