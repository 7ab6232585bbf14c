"""Fixtures for provider tests: a manual clock, a recording sleep, and the contract-checking fake GitHub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.clock import ManualClock
from bot.config.models import Provider as ProviderConfig
from bot.providers.base import DeployTarget
from bot.providers.github_actions import GitHubActions
from tests.contracts.github_contract import GitHubContract
from tests.fakes.github_server import FakeGitHub

TOKEN = "ghp_" + "T0kenValue" * 4  # shaped like a real token, so the log scrubber's patterns apply too


class RecordingSleep:
    """Stands in for asyncio.sleep: remembers each delay and moves the manual clock instead of waiting."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2024, 5, 6, 12, 0, tzinfo=UTC))


@pytest.fixture
def sleep(clock: ManualClock) -> RecordingSleep:
    return RecordingSleep(clock)


@pytest.fixture(scope="session")
def github_contract() -> GitHubContract:
    return GitHubContract.load()


@pytest.fixture
async def github(github_contract: GitHubContract, clock: ManualClock) -> AsyncIterator[FakeGitHub]:
    fake = await FakeGitHub(github_contract, clock=clock.now, token=TOKEN).start()
    yield fake
    await fake.stop()
    assert fake.violations == [], "requests or responses GitHub's contract does not allow"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, verify=False) as c:  # loopback only; no proxies
        yield c


def github_config(api_url: str, **overrides: Any) -> ProviderConfig:
    return ProviderConfig.model_validate({"kind": "github_actions", "api_url": api_url,
                                          "token_env": "GITHUB_TOKEN", **overrides})


@pytest.fixture
def provider(github: FakeGitHub, client: httpx.AsyncClient, sleep: RecordingSleep,
             clock: ManualClock) -> GitHubActions:
    return GitHubActions(github_config(github.url), TOKEN, client, sleep=sleep, clock=clock)


def target(**overrides: Any) -> DeployTarget:
    values: dict[str, Any] = {
        "repo": "acme/api", "workflow": "deploy.yml", "service": "api", "environment": "production",
        "ref": "main", "sha": "a" * 40, "strategy": "canary", "stage": 10, "release_id": 42,
    }
    return DeployTarget(**{**values, **overrides})
