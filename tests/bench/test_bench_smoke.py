"""The benchmark's own parts: its signed requests, its raw reference server, wrk parsing, the report file.

Nothing here times anything; the benchmark itself is `make bench`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bench.reference_apps import raw_app
from bench.report import write_section
from bench.slack_requests import EVENTS_PATH, SIGNING_SECRET, SignedRequest, build, command_reply
from bench.wrk import parse

RESPONSE_URL = "http://127.0.0.1:9/response/bench"

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:41234/slack/events
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    13.20ms    5.10ms  95.00ms   80.00%
    Req/Sec     1.80k   150.00     2.10k    70.00%
  Latency Distribution
     50%   12.15ms
     75%   15.00ms
     90%   19.49ms
     99%   43.75ms
  36100 requests in 10.01s, 60.00MB read
  Socket errors: connect 0, read 0, write 0, timeout 2
Requests/sec:   3606.39
Transfer/sec:      5.99MB
BENCH_RESPONSES ok=36095 non2xx=5 first_bad=401
"""


@pytest.fixture
async def raw_url() -> AsyncIterator[str]:
    server = TestServer(raw_app(SIGNING_SECRET), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url(EVENTS_PATH))
    finally:
        await server.close()


async def _post(url: str, request: SignedRequest) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, data=request.body.encode(),
                                                                 headers=request.headers()) as response:
        return response.status, await response.text()


async def test_the_signed_command_is_acked_by_the_raw_reference_server(raw_url: str) -> None:
    status, body = await _post(raw_url, build("command", response_url=RESPONSE_URL))

    assert status == 200
    assert json.loads(body) == command_reply()


async def test_the_signed_click_is_acked_with_an_empty_body(raw_url: str) -> None:
    status, body = await _post(raw_url, build("click", response_url=RESPONSE_URL))

    assert (status, body) == (200, "")


async def test_a_forged_or_stale_request_is_refused(raw_url: str) -> None:
    good = build("command", response_url=RESPONSE_URL)
    forged = SignedRequest(good.kind, good.body, good.content_type, good.timestamp, "v0=" + "0" * 64)
    stale = build("command", response_url=RESPONSE_URL, now=time.time() - 600)

    assert (await _post(raw_url, forged))[0] == 401
    assert (await _post(raw_url, stale))[0] == 401


def test_wrk_report_is_read_with_units_and_our_non_2xx_count() -> None:
    result = parse(WRK_OUTPUT, threads=2, connections=50)

    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (12.15, 19.49, 43.75)
    assert (result.requests, result.requests_per_s, result.duration_s) == (36100, 3606.39, 10.01)
    assert (result.non_2xx, result.first_bad_status, result.socket_errors) == (5, 401, 2)


def test_microsecond_latencies_are_converted_to_milliseconds() -> None:
    output = WRK_OUTPUT.replace("12.15ms", "81.00us").replace("19.49ms", "1.20s")

    result = parse(output, threads=2, connections=50)

    assert result.p50_ms == pytest.approx(0.081)
    assert result.p90_ms == pytest.approx(1200.0)


def test_the_report_section_is_replaced_and_the_rest_of_the_file_kept(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nintro\n\n## Slack ack latency\n\nold numbers\n\n## Other\n\nkept\n")

    write_section(doc, "## Slack ack latency\n\nnew numbers\n")

    assert doc.read_text() == "# Benchmarks\n\nintro\n\n## Slack ack latency\n\nnew numbers\n\n## Other\n\nkept\n"
