"""Message metadata on the way in, and reading messages back: conversations.history and .replies."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.slack_sim.workspace import BOT_USER_ID, SimMessage
from tests.slack_sim.fake_slack import START, Fake, refusal, running_fake

RELEASE = {"event_type": "switchman_post", "event_payload": {"key": "release-42-parent"}}


def metadata(key: str) -> dict[str, Any]:
    return {"event_type": "switchman_post", "event_payload": {"key": key}}


async def post_thread(fake: Fake, replies: int) -> tuple[str, list[str]]:
    """A parent message and `replies` replies, a simulated second apart; their ts."""
    client = fake.client()
    parent = (await client.chat_postMessage(channel=fake.channel, text="parent", metadata=RELEASE))["ts"]
    reply_ts = []
    for n in range(replies):
        await fake.time.sleep(1)
        posted = await client.chat_postMessage(channel=fake.channel, text=f"reply {n}", thread_ts=parent,
                                               metadata=metadata(f"reply-{n}"))
        reply_ts.append(posted["ts"])
    return parent, reply_ts


def stored(fake: Fake, ts: str) -> SimMessage:
    return fake.workspace.messages[(fake.channel, ts)]


# --- metadata ---------------------------------------------------------------------------------------

async def test_metadata_is_stored_and_echoed(fake: Fake) -> None:
    posted = await fake.client().chat_postMessage(channel=fake.channel, text="Release 42", metadata=RELEASE)
    assert stored(fake, posted["ts"]).metadata == RELEASE
    assert posted["message"]["metadata"] == RELEASE


async def test_metadata_as_url_encoded_json_in_a_form_body(fake: Fake) -> None:
    form = {"channel": fake.channel, "text": "Release 42", "metadata": json.dumps(RELEASE)}
    posted = await fake.client().api_call("chat.postMessage", data=form)
    assert stored(fake, posted["ts"]).metadata == RELEASE


async def test_update_replaces_metadata_or_keeps_it(fake: Fake) -> None:
    client = fake.client()
    ts = (await client.chat_postMessage(channel=fake.channel, text="v1", metadata=RELEASE))["ts"]
    await client.chat_update(channel=fake.channel, ts=ts, text="v2")
    assert stored(fake, ts).metadata == RELEASE
    updated = await client.chat_update(channel=fake.channel, ts=ts, text="v3", metadata=metadata("other"))
    assert stored(fake, ts).metadata == metadata("other") == updated["message"]["metadata"]


@pytest.mark.parametrize("bad", [{"event_type": "has spaces", "event_payload": {}}, {"event_type": "no_payload"}])
async def test_unreadable_metadata_is_dropped_with_a_warning(bad: dict[str, Any]) -> None:
    async with running_fake(None) as fake:  # the contract checker would refuse the call outright
        posted = await fake.client().chat_postMessage(channel=fake.channel, text="x", metadata=bad)
        assert posted["warning"] == "invalid_metadata_schema"
        assert stored(fake, posted["ts"]).metadata is None


# --- timestamps -------------------------------------------------------------------------------------

async def test_message_ts_follow_the_fake_clock_and_always_increase(fake: Fake) -> None:
    client = fake.client()
    first = (await client.chat_postMessage(channel=fake.channel, text="a"))["ts"]
    second = (await client.chat_postMessage(channel=fake.channel, text="b"))["ts"]
    await fake.time.sleep(90)
    third = (await client.chat_postMessage(channel=fake.channel, text="c"))["ts"]
    assert first == f"{int(START.timestamp())}.000001"  # the clock's second, then the channel's count
    assert second == f"{int(START.timestamp())}.000002"  # the clock did not move: still increasing
    assert third == f"{int((START + timedelta(seconds=90)).timestamp())}.000003"
    assert float(first) < float(second) < float(third)


# --- conversations.history --------------------------------------------------------------------------

async def test_history_lists_top_level_messages_newest_first_with_thread_summaries(fake: Fake) -> None:
    parent, replies = await post_thread(fake, 2)
    await fake.time.sleep(1)
    later = (await fake.client().chat_postMessage(channel=fake.channel, text="later"))["ts"]
    history = await fake.client().conversations_history(channel=fake.channel)
    assert [m["ts"] for m in history["messages"]] == [later, parent]
    assert history["has_more"] is False
    top = history["messages"][1]
    assert top["reply_count"] == 2 and top["latest_reply"] == replies[-1] and top["reply_users"] == [BOT_USER_ID]
    assert "metadata" not in top  # only with include_all_metadata


async def test_history_includes_metadata_only_when_asked(fake: Fake) -> None:
    await post_thread(fake, 0)
    history = await fake.client().conversations_history(channel=fake.channel, include_all_metadata=True)
    assert history["messages"][0]["metadata"] == RELEASE


async def test_history_of_an_empty_channel(fake: Fake) -> None:
    history = await fake.client().conversations_history(channel=fake.channel)
    assert history["messages"] == [] and history["has_more"] is False


async def test_history_window_oldest_latest_inclusive(fake: Fake) -> None:
    client = fake.client()
    ts = []
    for n in range(5):
        ts.append((await client.chat_postMessage(channel=fake.channel, text=f"{n}"))["ts"])
        await fake.time.sleep(10)

    async def window(**bounds: Any) -> list[str]:
        return [m["text"] for m in (await client.conversations_history(channel=fake.channel, **bounds))["messages"]]

    assert await window(oldest=ts[1], latest=ts[3]) == ["2"]
    assert await window(oldest=ts[1], latest=ts[3], inclusive=True) == ["3", "2", "1"]
    after_start = START + timedelta(seconds=15)
    assert await window(oldest=str(after_start.timestamp())) == ["4", "3", "2"]


async def test_history_pages_with_limit_and_cursor(fake: Fake) -> None:
    client = fake.client()
    for n in range(5):
        await client.chat_postMessage(channel=fake.channel, text=f"{n}")
        await fake.time.sleep(1)
    seen, cursor, pages = [], None, 0
    while True:
        page = await client.conversations_history(channel=fake.channel, limit=2, cursor=cursor)
        seen += [m["text"] for m in page["messages"]]
        pages += 1
        if not page["has_more"]:
            break
        cursor = page["response_metadata"]["next_cursor"]
    assert seen == ["4", "3", "2", "1", "0"] and pages == 3


async def test_history_refuses_bad_cursors_and_channels_the_bot_is_not_in(fake: Fake) -> None:
    client = fake.client()
    bad_cursor = client.conversations_history(channel=fake.channel, cursor="bm90IGEgY3Vyc29y")
    assert (await refusal(bad_cursor))["error"] == "invalid_cursor"
    fake.workspace.remove_bot(fake.channel)
    assert (await refusal(client.conversations_history(channel=fake.channel)))["error"] == "not_in_channel"
    assert (await refusal(client.conversations_history(channel="C0NOWHERE")))["error"] == "channel_not_found"


async def test_archived_channels_can_still_be_read(fake: Fake) -> None:
    await post_thread(fake, 0)
    fake.workspace.archive(fake.channel)
    assert len((await fake.client().conversations_history(channel=fake.channel))["messages"]) == 1


# --- conversations.replies --------------------------------------------------------------------------

async def test_replies_list_the_parent_then_replies_oldest_first(fake: Fake) -> None:
    parent, replies = await post_thread(fake, 3)
    thread = await fake.client().conversations_replies(channel=fake.channel, ts=parent)
    assert [m["ts"] for m in thread["messages"]] == [parent, *replies]
    assert thread["messages"][0]["reply_count"] == 3
    assert all(m["parent_user_id"] == BOT_USER_ID and m["thread_ts"] == parent for m in thread["messages"][1:])
    assert all("metadata" not in m for m in thread["messages"])


async def test_replies_from_a_reply_ts_give_the_whole_thread_with_metadata(fake: Fake) -> None:
    _, replies = await post_thread(fake, 2)
    thread = await fake.client().conversations_replies(channel=fake.channel, ts=replies[1],
                                                       include_all_metadata=True)
    assert [m.get("metadata") for m in thread["messages"]] == [RELEASE, metadata("reply-0"), metadata("reply-1")]


async def test_replies_of_a_message_without_a_thread_is_that_message(fake: Fake) -> None:
    parent, _ = await post_thread(fake, 0)
    thread = await fake.client().conversations_replies(channel=fake.channel, ts=parent)
    assert [m["ts"] for m in thread["messages"]] == [parent]
    assert "reply_count" not in thread["messages"][0]


async def test_replies_page_and_refuse_unknown_threads(fake: Fake) -> None:
    parent, replies = await post_thread(fake, 4)
    client = fake.client()
    first = await client.conversations_replies(channel=fake.channel, ts=parent, limit=3)
    rest = await client.conversations_replies(channel=fake.channel, ts=parent, limit=3,
                                              cursor=first["response_metadata"]["next_cursor"])
    assert [m["ts"] for m in first["messages"]] == [parent, *replies[:2]]
    assert [m["ts"] for m in rest["messages"]] == [parent, *replies[2:]]  # the parent heads every page
    assert first["has_more"] and not rest["has_more"]
    missing = client.conversations_replies(channel=fake.channel, ts="1700000000.000001")
    assert (await refusal(missing))["error"] == "thread_not_found"


# --- the crash the outbox recovers from ----------------------------------------------------------------

async def test_a_post_whose_answer_was_lost_is_found_again_by_its_metadata(fake: Fake) -> None:
    parent, _ = await post_thread(fake, 1)
    fake.api.fail("chat.postMessage", drop_response=True)
    client = fake.client()
    key = "release-42-step-3"
    lost = await refusal(client.chat_postMessage(channel=fake.channel, text="step 3", thread_ts=parent,
                                                 metadata=metadata(key)))
    assert lost.status_code == 500
    thread = await client.conversations_replies(channel=fake.channel, ts=parent, include_all_metadata=True)
    found = [m for m in thread["messages"] if m.get("metadata", {}).get("event_payload", {}).get("key") == key]
    assert [m["text"] for m in found] == ["step 3"]  # so the outbox records it instead of posting twice
