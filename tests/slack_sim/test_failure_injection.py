"""Injected failures, over real HTTP: refusals, server errors, slow and lost answers, matching, chaos."""

from __future__ import annotations

import random

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_sim.failures import DEFAULT_CHAOS_FAILURES, InjectedFailure
from tests.contracts.slack_contract import SlackContract
from tests.slack_sim.fake_slack import Fake, refusal, running_fake

TIMEOUT = 0.2  # the client's timeout, in real seconds, where a test exercises it


def texts(fake: Fake) -> list[str]:
    return [m.text for m in fake.workspace.messages.values()]


async def test_the_legacy_form_still_fails_the_next_call(fake: Fake) -> None:
    fake.api.inject_failure("chat.postMessage", InjectedFailure(error="service_unavailable"))
    client = fake.client()
    error = await refusal(client.chat_postMessage(channel=fake.channel, text="lost"))
    assert error.status_code == 200 and error["error"] == "service_unavailable"
    await client.chat_postMessage(channel=fake.channel, text="kept")
    assert texts(fake) == ["kept"]


async def test_fail_queues_that_many_failures(fake: Fake) -> None:
    fake.api.fail("chat.postMessage", error="fatal_error", times=2)
    client = fake.client()
    for _ in range(2):
        assert (await refusal(client.chat_postMessage(channel=fake.channel, text="x")))["error"] == "fatal_error"
    await client.chat_postMessage(channel=fake.channel, text="third time")
    assert texts(fake) == ["third time"]


@pytest.mark.parametrize(("status", "error", "retry_after", "expected_error", "expected_header"), [
    (429, None, None, "ratelimited", "1"),
    (429, None, 30, "ratelimited", "30"),
    (500, None, None, "internal_error", None),
    (503, "service_unavailable", 5, "service_unavailable", "5"),
])
async def test_http_errors(fake: Fake, status: int, error: str | None, retry_after: int | None,
                           expected_error: str, expected_header: str | None) -> None:
    fake.api.fail("chat.postMessage", status=status, error=error, retry_after=retry_after)
    raised = await refusal(fake.client().chat_postMessage(channel=fake.channel, text="x"))
    assert raised.status_code == status
    assert raised.data == {"ok": False, "error": expected_error}
    assert raised.headers.get("Retry-After") == expected_header
    assert texts(fake) == []


async def test_match_fails_only_matching_calls_and_keeps_the_failure_queued(fake: Fake) -> None:
    fake.api.fail("chat.postMessage", error="fatal_error", match=lambda p: p.get("thread_ts") is not None)
    client = fake.client()
    parent = await client.chat_postMessage(channel=fake.channel, text="parent")
    await client.chat_postMessage(channel=fake.channel, text="another top-level post")
    error = await refusal(client.chat_postMessage(channel=fake.channel, text="reply", thread_ts=parent["ts"]))
    assert error["error"] == "fatal_error"
    await client.chat_postMessage(channel=fake.channel, text="reply", thread_ts=parent["ts"])
    assert texts(fake) == ["parent", "another top-level post", "reply"]
    assert not fake.api.failures["chat.postMessage"]  # used up by the matching call


async def test_match_sees_decoded_arguments(fake: Fake) -> None:
    fake.api.fail("chat.postMessage", error="fatal_error",
                  match=lambda p: p.get("metadata", {}).get("event_payload", {}).get("release") == "7")
    client = fake.client()
    await client.chat_postMessage(channel=fake.channel, text="other",
                                  metadata={"event_type": "release", "event_payload": {"release": "6"}})
    error = await refusal(client.chat_postMessage(
        channel=fake.channel, text="this one", metadata={"event_type": "release", "event_payload": {"release": "7"}}))
    assert error["error"] == "fatal_error"


async def test_a_delayed_failure_times_the_client_out_and_does_nothing(fake: Fake) -> None:
    fake.api.fail("chat.postMessage", status=503, delay=30)
    with pytest.raises(TimeoutError):
        await fake.client(timeout=TIMEOUT).chat_postMessage(channel=fake.channel, text="slow")
    assert texts(fake) == []


async def test_a_delay_alone_is_a_slow_answer_that_still_does_the_call(fake: Fake) -> None:
    fake.api.fail("chat.postMessage", delay=0.05)
    posted = await fake.client().chat_postMessage(channel=fake.channel, text="slow but fine")
    assert posted["ok"] and texts(fake) == ["slow but fine"]


async def test_a_lost_answer_posts_the_message_but_answers_500(fake: Fake) -> None:
    fake.api.fail("chat.postMessage", drop_response=True)
    error = await refusal(fake.client().chat_postMessage(channel=fake.channel, text="did it post?"))
    assert error.status_code == 500
    assert texts(fake) == ["did it post?"]


async def test_a_lost_answer_held_past_the_timeout_posts_the_message(fake: Fake) -> None:
    fake.api.inject_failure("chat.postMessage", InjectedFailure(drop_response=True, delay=30))
    with pytest.raises(TimeoutError):
        await fake.client(timeout=TIMEOUT).chat_postMessage(channel=fake.channel, text="posted anyway")
    assert texts(fake) == ["posted anyway"]


async def test_stop_releases_held_answers(slack_contract: SlackContract) -> None:
    async with running_fake(slack_contract) as fake:
        fake.api.fail("auth.test", delay=600)
        client = fake.client(timeout=TIMEOUT)
        with pytest.raises(TimeoutError):
            await client.auth_test()
    # Leaving the block stopped the server without waiting for the 600 s hold.


async def chaos_run(client: AsyncWebClient, calls: int) -> list[str]:
    """What each of `calls` auth.test calls met: "ok" or the HTTP status of the failure."""
    outcomes = []
    for _ in range(calls):
        try:
            await client.auth_test()
            outcomes.append("ok")
        except SlackApiError as exc:
            outcomes.append(str(exc.response.status_code))
    return outcomes


async def test_chaos_fails_a_seeded_fraction_of_calls(fake: Fake) -> None:
    fake.api.chaos(0.3, random.Random(7), methods={"auth.test"})
    client = fake.client()
    first = await chaos_run(client, 200)
    failed = [o for o in first if o != "ok"]
    assert 40 <= len(failed) <= 80
    assert set(failed) == {"429", "500", "503"}  # from DEFAULT_CHAOS_FAILURES
    assert fake.api.chaos_failures == {"auth.test": len(failed)}
    fake.api.chaos(0.3, random.Random(7), methods={"auth.test"})
    assert await chaos_run(client, 200) == first  # the same seed, the same run


async def test_chaos_spares_other_methods_and_ends_with_calm(fake: Fake) -> None:
    fake.api.chaos(1.0, random.Random(1), methods={"chat.postMessage"},
                   failures=[InjectedFailure(error="internal_error", status=500)])
    client = fake.client()
    await client.auth_test()
    assert (await refusal(client.chat_postMessage(channel=fake.channel, text="x"))).status_code == 500
    fake.api.calm()
    await client.chat_postMessage(channel=fake.channel, text="calm again")
    assert fake.api.chaos_failures == {"chat.postMessage": 1}


async def test_queued_failures_come_before_chaos(fake: Fake) -> None:
    fake.api.chaos(1.0, random.Random(1), failures=[InjectedFailure(status=503)])
    fake.api.fail("auth.test", error="invalid_auth")
    client = fake.client()
    assert (await refusal(client.auth_test()))["error"] == "invalid_auth"
    assert (await refusal(client.auth_test())).status_code == 503
    assert fake.api.chaos_failures == {"auth.test": 1}


def test_chaos_refuses_nonsense(fake: Fake) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        fake.api.chaos(1.5, random.Random(1))
    with pytest.raises(ValueError, match="at least one failure"):
        fake.api.chaos(0.5, random.Random(1), failures=[])
    assert len(DEFAULT_CHAOS_FAILURES) == 3
