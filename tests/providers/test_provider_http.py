"""ProviderHttp: retries with backoff on 5xx, 429 and transport errors, server-requested waits, clear errors."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.clock import ManualClock
from bot.errors import ProviderError
from bot.providers.http import ProviderHttp, parse_retry_after
from tests.fakes.github_server import FakeGitHub
from tests.providers.conftest import TOKEN, RecordingSleep

HEADERS = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/vnd.github+json",
           "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "switchman"}
RUNS = "/repos/acme/api/actions/runs/1"


def http_for(client: httpx.AsyncClient, base_url: str, sleep: RecordingSleep, clock: ManualClock,
             *, retries: int = 3) -> ProviderHttp:
    return ProviderHttp(client, system="GitHub", base_url=base_url, headers=HEADERS, timeout=5, retries=retries,
                        sleep=sleep, clock=clock, jitter=lambda: 0.0)


def scripted(answers: list[httpx.Response | Exception]) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A client whose transport plays `answers` in order and records the requests."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[min(len(seen), len(answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.AsyncClient(transport=httpx.MockTransport(handle)), seen


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_retries_502_with_exponential_backoff_then_succeeds(github: FakeGitHub, client: httpx.AsyncClient,
                                                                  sleep: RecordingSleep, clock: ManualClock) -> None:
    run = github.add_run(title="deploy production release 1 stage 100")
    github.inject(502, operation_id="actions/get-workflow-run", times=2, message="Bad Gateway")
    http = http_for(client, github.url, sleep, clock)
    response = await http.request("GET", f"/repos/acme/api/actions/runs/{run}", operation="get a run")
    assert response.json()["id"] == run
    assert sleep.delays == [0.25, 0.5]  # half of 0.5 s · 2^n, with zero jitter
    assert len(github.calls("actions/get-workflow-run")) == 3


async def test_429_honours_retry_after_seconds(github: FakeGitHub, client: httpx.AsyncClient,
                                               sleep: RecordingSleep, clock: ManualClock) -> None:
    run = github.add_run(title="deploy production release 1 stage 100")
    github.inject(429, operation_id="actions/get-workflow-run", headers={"Retry-After": "7"}, message="slow down")
    response = await http_for(client, github.url, sleep, clock).request(
        "GET", f"/repos/acme/api/actions/runs/{run}", operation="get a run")
    assert response.status_code == 200
    assert sleep.delays == [7.0]


async def test_retry_after_as_http_date_and_github_rate_limit_reset(sleep: RecordingSleep,
                                                                    clock: ManualClock) -> None:
    in_ten = (clock.now() + timedelta(seconds=10)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    reset = str(int(clock.now().timestamp()) + 30)
    client, _ = scripted([
        httpx.Response(503, headers={"Retry-After": in_ten}),
        httpx.Response(403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
                       json={"message": "API rate limit exceeded"}),
        httpx.Response(200, json={}),
    ])
    async with client:
        await http_for(client, "https://api.github.com", sleep, clock).request("GET", RUNS, operation="get a run")
    assert sleep.delays == [10.0, 31.0 - 10.0]  # the clock moved 10 s during the first wait


async def test_a_wait_longer_than_the_cap_fails_now_with_the_time(sleep: RecordingSleep, clock: ManualClock) -> None:
    client, seen = scripted([httpx.Response(429, headers={"Retry-After": "3600"})])
    async with client:
        with pytest.raises(ProviderError, match=r"rate limiting Switchman and cannot get a run until 13:00 UTC"):
            await http_for(client, "https://api.github.com", sleep, clock).request("GET", RUNS, operation="get a run")
    assert sleep.delays == [] and len(seen) == 1


async def test_gives_up_after_the_configured_tries(sleep: RecordingSleep, clock: ManualClock) -> None:
    client, seen = scripted([httpx.Response(500, json={"message": "boom"})])
    async with client:
        with pytest.raises(ProviderError) as error:
            await http_for(client, "https://api.github.com", sleep, clock, retries=2).request(
                "GET", RUNS, operation="get the state of workflow run 1")
    assert str(error.value) == ("GitHub failed to get the state of workflow run 1 after 3 tries: "
                                "500 Internal Server Error — boom")
    assert len(seen) == 3 and len(sleep.delays) == 2


async def test_unreachable_server_names_system_url_and_cause_without_the_token(
        client: httpx.AsyncClient, sleep: RecordingSleep, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(ProviderError) as error:
        await http_for(client, base, sleep, clock).request("GET", RUNS, operation="get the state of workflow run 1")
    message = str(error.value)
    assert message == f"GitHub could not be reached at {base} after 4 tries to get the state of workflow run 1: " \
                      "connection refused"
    assert TOKEN not in message
    assert len(sleep.delays) == 3
    retries = [r for r in caplog.records if r.getMessage() == "provider request retried"]
    assert [getattr(r, "attempt", None) for r in retries] == [1, 2, 3]
    assert all(r.__dict__["outcome"] == "connection refused" and r.__dict__["provider"] == "GitHub" for r in retries)


async def test_401_is_not_retried(github: FakeGitHub, client: httpx.AsyncClient, sleep: RecordingSleep,
                                  clock: ManualClock) -> None:
    http = ProviderHttp(client, system="GitHub", base_url=github.url, headers={**HEADERS, "Authorization":
                        "Bearer ghp_wrongWrongWrongWrong"}, sleep=sleep, clock=clock)
    with pytest.raises(ProviderError) as error:
        await http.request("GET", RUNS, operation="get a run")
    assert str(error.value) == "GitHub refused to get a run: 401 Unauthorized — Bad credentials " \
                               "(check the provider token)"
    assert "ghp_wrong" not in str(error.value)
    assert sleep.delays == [] and len(github.requests) == 1


@pytest.mark.parametrize(("failure", "retried"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), True),  # never reached the server: safe to repeat
    (httpx.ReadTimeout("timed out"), False),  # it may have started the pipeline: do not start a second one
    (httpx.Response(502), False),
    (httpx.Response(429, headers={"Retry-After": "1"}), True),  # a rate limit means it did nothing
])
async def test_a_post_that_starts_something_is_repeated_only_when_it_surely_did_nothing(
        failure: httpx.Response | Exception, retried: bool, sleep: RecordingSleep, clock: ManualClock) -> None:
    client, seen = scripted([failure, httpx.Response(204)])
    async with client:
        http = http_for(client, "https://api.github.com", sleep, clock)
        call = http.request("POST", "/repos/acme/api/actions/workflows/deploy.yml/dispatches",
                            operation="start workflow deploy.yml", json={"ref": "main"})
        if retried:
            assert (await call).status_code == 204
        else:
            with pytest.raises(ProviderError, match="it may have acted on the request"):
                await call
    assert len(seen) == (2 if retried else 1)


async def test_timeouts_are_per_request_and_described(sleep: RecordingSleep, clock: ManualClock) -> None:
    client, seen = scripted([httpx.ReadTimeout("timed out")])
    async with client:
        with pytest.raises(ProviderError, match=r"after 2 tries to get a run: no answer within 5s$"):
            await http_for(client, "https://api.github.com", sleep, clock, retries=1).request(
                "GET", RUNS, operation="get a run")
    assert seen[0].extensions["timeout"] == {"connect": 5, "read": 5, "write": 5, "pool": 5}


async def test_no_log_line_carries_the_token(sleep: RecordingSleep, clock: ManualClock,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = scripted([httpx.Response(502, json={"message": f"echo {TOKEN}"}), httpx.ConnectError("refused"),
                          httpx.Response(200, json={})])
    async with client:
        await http_for(client, "https://api.github.com", sleep, clock).request("GET", RUNS, operation="get a run")
    assert len(caplog.records) >= 2
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert all(TOKEN not in str(value) for value in vars(record).values())


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), (" 0 ", 0.0), ("Mon, 06 May 2024 12:01:00 GMT", 60.0),
    ("Mon, 06 May 2024 11:00:00 GMT", 0.0), ("soon", None),
])
def test_parse_retry_after(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, datetime(2024, 5, 6, 12, 0, tzinfo=UTC)) == expected

