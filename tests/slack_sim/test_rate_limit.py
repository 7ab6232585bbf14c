"""chat.postMessage's per-channel rate limit: a token bucket on the fake's clock, answered with 429."""

from __future__ import annotations

import copy
import inspect
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_sim.failures import DEFAULT_RATE_LIMIT, RateLimit, RateLimiter
from bot.slack_sim.stack import STACK_RATE_LIMIT, simulated_stack
from tests.contracts.slack_contract import SlackContract
from tests.slack_sim.fake_slack import START, Fake, refusal, running_fake


async def post_honouring_retry_after(fake: Fake, client: AsyncWebClient, channel: str, text: str) -> int:
    """Post, sleeping (simulated time) as long as Retry-After says after each 429; returns the 429s seen."""
    refused = 0
    while True:
        try:
            await client.chat_postMessage(channel=channel, text=text)
            return refused
        except SlackApiError as exc:
            if exc.response.status_code != 429:
                raise
            refused += 1
            await fake.time.sleep(int(exc.response.headers["Retry-After"]))


async def test_a_burst_of_four_passes_and_the_fifth_is_told_to_wait(fake: Fake) -> None:
    client = fake.client()
    for n in range(4):
        await client.chat_postMessage(channel=fake.channel, text=f"burst {n}")
    error = await refusal(client.chat_postMessage(channel=fake.channel, text="one too many"))
    assert error.status_code == 429
    assert error.headers["Retry-After"] == "1"
    assert error.data == {"ok": False, "error": "ratelimited"}
    assert fake.api.rate_limited == {fake.channel: 1}
    assert [m.text for m in fake.workspace.messages.values()] == [f"burst {n}" for n in range(4)]


async def test_waiting_retry_after_in_simulated_time_gets_through(fake: Fake) -> None:
    client = fake.client()
    refusals = [await post_honouring_retry_after(fake, client, fake.channel, f"post {n}") for n in range(10)]
    assert refusals == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]  # after the burst, one post per second
    assert len(fake.workspace.messages) == 10
    assert fake.time.now() - START == timedelta(seconds=6)
    assert fake.api.rate_limited[fake.channel] == 6


async def test_the_bucket_refills_at_one_per_second_up_to_the_burst(fake: Fake) -> None:
    client = fake.client()
    for n in range(4):
        await client.chat_postMessage(channel=fake.channel, text=f"burst {n}")
    await fake.time.sleep(2.5)  # 2.5 tokens back: two posts, then a wait of one second
    await client.chat_postMessage(channel=fake.channel, text="a")
    await client.chat_postMessage(channel=fake.channel, text="b")
    error = await refusal(client.chat_postMessage(channel=fake.channel, text="c"))
    assert error.headers["Retry-After"] == "1"
    await fake.time.sleep(3600)  # an idle hour refills the burst, no more
    for n in range(4):
        await client.chat_postMessage(channel=fake.channel, text=f"second burst {n}")
    assert (await refusal(client.chat_postMessage(channel=fake.channel, text="d"))).status_code == 429


async def test_channels_have_their_own_buckets_and_names_share_the_ids(fake: Fake) -> None:
    other = fake.workspace.add_channel("#incidents").id
    client = fake.client()
    for n in range(2):
        await client.chat_postMessage(channel=fake.channel, text=f"by id {n}")
        await client.chat_postMessage(channel="#releases", text=f"by name {n}")
    assert (await refusal(client.chat_postMessage(channel="releases", text="x"))).status_code == 429
    for n in range(4):
        await client.chat_postMessage(channel=other, text=f"elsewhere {n}")
    assert fake.api.rate_limited == {fake.channel: 1}


async def test_other_methods_are_not_paced(fake: Fake) -> None:
    client = fake.client()
    posted = await client.chat_postMessage(channel=fake.channel, text="v1")
    for n in range(10):
        await client.chat_update(channel=fake.channel, ts=posted["ts"], text=f"v{n + 2}")
    assert fake.workspace.messages[(fake.channel, posted["ts"])].edits == 10


async def test_a_slower_limit_asks_for_a_longer_wait(slack_contract: SlackContract) -> None:
    async with running_fake(slack_contract, rate_limit=RateLimit(burst=2, per_second=0.25)) as fake:
        client = fake.client()
        await client.chat_postMessage(channel=fake.channel, text="1")
        await client.chat_postMessage(channel=fake.channel, text="2")
        error = await refusal(client.chat_postMessage(channel=fake.channel, text="3"))
        assert error.headers["Retry-After"] == "4"
        assert fake.api.violations == []


async def test_no_rate_limit_lets_bursts_through(slack_contract: SlackContract) -> None:
    async with running_fake(slack_contract, rate_limit=None) as fake:
        client = fake.client()
        for n in range(20):
            await client.chat_postMessage(channel=fake.channel, text=f"{n}")
        assert len(fake.workspace.messages) == 20
        assert fake.api.rate_limited == {}


def test_defaults() -> None:
    assert RateLimit(burst=4, per_second=1.0) == DEFAULT_RATE_LIMIT
    # On in the whole-app stack, as on real Slack: the outbox paces posts and honours 429s.
    assert STACK_RATE_LIMIT == DEFAULT_RATE_LIMIT
    assert inspect.signature(simulated_stack).parameters["rate_limit"].default is STACK_RATE_LIMIT


@pytest.mark.parametrize("limit", [RateLimit(burst=0), RateLimit(per_second=0), RateLimit(per_second=-1)])
def test_nonsense_limits_are_refused(limit: RateLimit) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimiter(limit)


limits = st.builds(RateLimit, burst=st.integers(1, 6), per_second=st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]))
gaps = st.lists(st.floats(0, 3, allow_nan=False).map(lambda g: round(g, 3)), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(limit=limits, gaps=gaps)
def test_token_bucket_properties(limit: RateLimit, gaps: list[float]) -> None:
    limiter = RateLimiter(limit)
    now, accepted = 1_000.0, []
    for gap in gaps:
        now += gap
        before = copy.deepcopy(limiter)
        wait = limiter.retry_after("C1", now)
        if wait is None:
            accepted.append(now)
            continue
        assert wait >= 1
        # Retry-After is enough: a client that waits that long gets through ...
        assert copy.deepcopy(before).retry_after("C1", now + wait) is None
        # ... and not more than a second too much.
        if wait > 1:
            assert copy.deepcopy(before).retry_after("C1", now + wait - 1) is not None
    # Never more than the burst plus what the refill allows, in any stretch of time.
    for i, start in enumerate(accepted):
        for j in range(i, len(accepted)):
            assert j - i + 1 <= limit.burst + (accepted[j] - start) * limit.per_second + 1e-6
