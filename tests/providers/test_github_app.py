"""GitHub App authentication: app JWTs exchanged for installation tokens, cached, renewed, and refused clearly.

Everything goes through the real wire to the contract-checking fake GitHub, which verifies each
JWT's RS256 signature with the app's public key and its claims on the manual clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from bot.clock import ManualClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.base import RunState
from bot.providers.github_actions import GitHubActions
from bot.providers.github_app import GitHubAppCredentials
from bot.providers.registry import UnavailableProvider, build_provider
from bot.release.models import ReleaseState
from bot.settings import Settings
from bot.simulated_time import SimulatedTime
from tests.contracts.github_contract import GitHubContract
from tests.contracts.slack_contract import SlackContract
from tests.fakes.github_app_auth import OPERATION_ID, new_app_key
from tests.fakes.github_server import FakeGitHub
from tests.providers.conftest import RecordingSleep, target
from tests.release.scenario import release_config, scenario

APP_ID, INSTALLATION_ID, KEY_ENV = 123456, 7890123, "GITHUB_APP_PRIVATE_KEY"
KEY_PEM, PUBLIC_KEY = new_app_key()


def app_config(api_url: str, **overrides: object) -> ProviderConfig:
    return ProviderConfig.model_validate({"kind": "github_actions", "api_url": api_url, "app_id": APP_ID,
                                          "installation_id": INSTALLATION_ID, "private_key_env": KEY_ENV,
                                          **overrides})


@pytest.fixture
async def github(github_contract: GitHubContract, clock: ManualClock) -> AsyncIterator[FakeGitHub]:
    fake = await FakeGitHub(github_contract, clock=clock.now).start()  # no fixed token: app tokens only
    fake.enable_app(APP_ID, INSTALLATION_ID, PUBLIC_KEY)
    yield fake
    await fake.stop()
    assert fake.violations == [], "requests or responses GitHub's contract does not allow"


def app_provider(github: FakeGitHub, client: httpx.AsyncClient, clock: ManualClock, *, key: str = KEY_PEM,
                 **overrides: object) -> GitHubActions:
    built = build_provider("gh", app_config(github.url, **overrides), settings=Settings.from_env({KEY_ENV: key}),
                           client=client, clock=clock)
    assert isinstance(built, GitHubActions), getattr(built, "reason", built)
    return built


def exchanges(github: FakeGitHub) -> int:
    return len(github.calls(OPERATION_ID))


def issued_tokens(github: FakeGitHub) -> list[str]:
    assert github.app is not None
    return list(github.app.tokens)


async def test_an_installation_token_is_minted_once_and_used_for_every_call(
        github: FakeGitHub, client: httpx.AsyncClient, clock: ManualClock) -> None:
    sha = github.add_ref("main", "c" * 40)
    provider = app_provider(github, client, clock)
    assert await provider.resolve_ref("acme/api", "main") == sha
    run = await provider.dispatch(target(sha=sha))
    github.advance_run(int(run.id), "completed", "success")
    assert (await provider.poll(target(sha=sha), run)).state is RunState.SUCCEEDED

    [exchange] = github.calls(OPERATION_ID)
    assert exchange.path == f"/app/installations/{INSTALLATION_ID}/access_tokens"
    app_jwt = exchange.headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(app_jwt, PUBLIC_KEY, algorithms=["RS256"], options={"verify_exp": False})
    now = int(clock.now().timestamp())
    assert claims == {"iss": str(APP_ID), "iat": now - 60, "exp": now + 540}  # 10 minutes from iat, not more
    [token] = issued_tokens(github)
    others = [r for r in github.requests if r.operation_id != OPERATION_ID]
    assert len(others) == 3 and {r.headers["Authorization"] for r in others} == {f"Bearer {token}"}


async def test_the_token_is_renewed_once_near_its_end_even_for_ten_requests_at_once(
        github: FakeGitHub, client: httpx.AsyncClient, clock: ManualClock) -> None:
    github.add_ref("main", "c" * 40)
    provider = app_provider(github, client, clock)
    await provider.resolve_ref("acme/api", "main")
    clock.advance(timedelta(minutes=54, seconds=59))  # 5 min 1 s of its hour left: still good
    await asyncio.gather(*(provider.resolve_ref("acme/api", "main") for _ in range(10)))
    assert exchanges(github) == 1

    clock.advance(timedelta(seconds=1))  # the refresh point: 5 minutes left
    shas = await asyncio.gather(*(provider.resolve_ref("acme/api", "main") for _ in range(10)))
    assert shas == ["c" * 40] * 10
    assert exchanges(github) == 2
    first, second = issued_tokens(github)
    assert first != second
    late = github.requests[-10:]
    assert {r.headers["Authorization"] for r in late} == {f"Bearer {second}"}


async def test_a_revoked_token_is_renewed_once_and_the_call_repeated(
        github: FakeGitHub, client: httpx.AsyncClient, clock: ManualClock) -> None:
    github.add_ref("main", "c" * 40)
    provider = app_provider(github, client, clock)
    await provider.resolve_ref("acme/api", "main")
    assert github.app is not None
    github.app.revoke()
    shas = await asyncio.gather(*(provider.resolve_ref("acme/api", "main") for _ in range(3)))
    assert shas == ["c" * 40] * 3
    assert exchanges(github) == 2  # one renewal for all three refused calls
    statuses = [r for r in github.requests if r.operation_id == "repos/get-combined-status-for-ref"]
    assert len(statuses) == 1 + 3 + 3  # the first call, three refused, three repeated


async def test_a_401_that_survives_renewal_is_reported_not_looped(
        github: FakeGitHub, client: httpx.AsyncClient, clock: ManualClock) -> None:
    github.add_ref("main", "c" * 40)
    provider = app_provider(github, client, clock)
    github.inject(401, operation_id="repos/get-combined-status-for-ref", times=5, message="Bad credentials")
    with pytest.raises(ProviderError, match=r"^GitHub refused to look up ref main in acme/api: 401 Unauthorized"):
        await provider.resolve_ref("acme/api", "main")
    assert exchanges(github) == 2  # the first token, and one renewal after the 401
    assert len(github.calls("repos/get-combined-status-for-ref")) == 2


async def test_a_token_that_expired_unused_is_replaced_before_the_call(
        github: FakeGitHub, client: httpx.AsyncClient, clock: ManualClock) -> None:
    github.add_ref("main", "c" * 40)
    provider = app_provider(github, client, clock)
    await provider.resolve_ref("acme/api", "main")
    clock.advance(timedelta(hours=3))
    await provider.resolve_ref("acme/api", "main")
    assert exchanges(github) == 2
    assert [r.operation_id for r in github.requests].count("repos/get-combined-status-for-ref") == 2  # no 401


async def test_a_key_that_is_not_the_apps_is_refused_with_what_to_fix(
        github: FakeGitHub, client: httpx.AsyncClient, clock: ManualClock) -> None:
    other_pem, _ = new_app_key()
    provider = app_provider(github, client, clock, key=other_pem)
    with pytest.raises(ProviderError) as refused:
        await provider.resolve_ref("acme/api", "main")
    message = str(refused.value)
    assert message.startswith(f"GitHub refused the credentials of GitHub App {APP_ID} (401 Unauthorized")
    assert f"{KEY_ENV} holds a current private key of that app" in message
    assert github.app is not None and github.app.refusals == ["A JSON web token could not be decoded "
                                                              "(InvalidSignatureError)"]
    sent_jwt = github.calls(OPERATION_ID)[0].headers["Authorization"].removeprefix("Bearer ")
    assert sent_jwt not in message and not any(line in message for line in other_pem.splitlines()[1:-1])
    assert exchanges(github) == 1  # a refused JWT is not retried
    assert all(r.operation_id == OPERATION_ID for r in github.requests)  # nothing went out unauthenticated


async def test_a_jwt_from_a_clock_far_behind_is_refused(
        github: FakeGitHub, client: httpx.AsyncClient, clock: ManualClock) -> None:
    slow = ManualClock(clock.now() - timedelta(minutes=15))  # Switchman's clock; the fake keeps `clock`
    provider = app_provider(github, client, slow)
    with pytest.raises(ProviderError, match=r"this machine's clock is right"):
        await provider.resolve_ref("acme/api", "main")
    assert github.app is not None and github.app.refusals == ["'Expiration time' claim ('exp') is in the past"]


async def test_an_unknown_installation_says_which(github: FakeGitHub, client: httpx.AsyncClient,
                                                  clock: ManualClock) -> None:
    provider = app_provider(github, client, clock, installation_id=999)
    with pytest.raises(ProviderError, match=rf"^GitHub has no installation 999 of GitHub App {APP_ID}: check "
                                            "installation_id"):
        await provider.resolve_ref("acme/api", "main")


async def test_server_trouble_at_the_exchange_is_retried(github: FakeGitHub, client: httpx.AsyncClient,
                                                         clock: ManualClock) -> None:
    github.add_ref("main", "c" * 40)
    sleep = RecordingSleep(clock)
    config = app_config(github.url)
    credentials = GitHubAppCredentials.from_config(config, KEY_PEM, client, clock=clock, sleep=sleep)
    provider = GitHubActions(config, None, client, sleep=sleep, clock=clock, credentials=credentials)
    github.inject(502, operation_id=OPERATION_ID, times=1)
    assert await provider.resolve_ref("acme/api", "main") == "c" * 40
    assert exchanges(github) == 2 and len(sleep.delays) == 1


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, f"has no GitHub App private key: set the environment variable {KEY_ENV} (named by private_key_env)"),
    ({KEY_ENV: "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-at-all\n-----END RSA PRIVATE KEY-----"},
     f"the GitHub App private key in {KEY_ENV} is not an unencrypted PEM RSA private key"),
])
async def test_a_missing_or_unreadable_key_makes_the_provider_unavailable(
        environ: dict[str, str], expected: str, client: httpx.AsyncClient, clock: ManualClock) -> None:
    built = build_provider("gh", app_config("https://api.github.com"), settings=Settings.from_env(environ),
                           client=client, clock=clock)
    assert type(built) is UnavailableProvider and expected in built.reason
    assert "not-a-key-at-all" not in built.reason
    with pytest.raises(ProviderError, match="provider 'gh'"):
        await built.resolve_ref("acme/api", "main")


async def test_a_key_pasted_with_escaped_newlines_still_works(
        github: FakeGitHub, client: httpx.AsyncClient, clock: ManualClock) -> None:
    github.add_ref("main", "c" * 40)
    provider = app_provider(github, client, clock, key=KEY_PEM.strip().replace("\n", "\\n"))
    assert await provider.resolve_ref("acme/api", "main") == "c" * 40


async def test_a_release_through_slack_deploys_as_the_app(tmp_path: Path, slack_contract: SlackContract,
                                                          github_contract: GitHubContract) -> None:
    time = SimulatedTime(datetime(2026, 11, 18, 10, 0, tzinfo=UTC))  # a Wednesday: no freeze
    github = await FakeGitHub(github_contract, clock=time.now).start()
    try:
        github.enable_app(APP_ID, INSTALLATION_ID, PUBLIC_KEY)
        github.runs_advance_when_polled = True
        sha = github.add_ref("v1.4.2", "9f" * 20)
        github.add_check_run(sha, "build")
        block = (f'  gh: {{kind: github_actions, api_url: "{github.url}", app_id: {APP_ID}, '
                 f'installation_id: {INSTALLATION_ID}, private_key_env: {KEY_ENV}}}')
        async with scenario(tmp_path, slack_contract, config=release_config(block, provider="gh"), time=time,
                            environ={KEY_ENV: KEY_PEM}) as s:
            await s.command("U0ALICE", f"api {sha} to staging")
            release = (await s.releases())[-1]
            assert release.state == ReleaseState.SUCCEEDED, s.thread_text(release)
            assert github.dispatches[-1]["inputs"]["sha"] == sha
            assert ":white_check_mark: *ci_green* — pass" in s.thread_text(release)
        [token] = issued_tokens(github)
        assert exchanges(github) == 1
        assert {r.headers["Authorization"] for r in github.requests if r.operation_id != OPERATION_ID} == {
            f"Bearer {token}"}
    finally:
        await github.stop()
    assert github.violations == []
