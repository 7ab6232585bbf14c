"""Fixtures for the simulated Slack's own tests: the fake Web API on loopback, checked against the contract."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contracts.slack_contract import SlackContract
from tests.slack_sim.fake_slack import Fake, running_fake


@pytest.fixture
async def fake(slack_contract: SlackContract) -> AsyncIterator[Fake]:
    async with running_fake(slack_contract) as running:
        yield running
        assert running.api.violations == [], f"calls Slack would have rejected: {running.api.violations}"
