"""Where the bot may post: channels it is in, DMs, not archived channels; conversations.join."""

from __future__ import annotations

import pytest

from bot.config.loader import load_config
from bot.settings import EXAMPLE_CONFIG
from bot.slack_sim.seed import seed_workspace
from bot.slack_sim.workspace import Workspace
from tests.slack_sim.fake_slack import Fake, refusal


async def test_a_channel_the_bot_left_refuses_posts_and_updates(fake: Fake) -> None:
    client = fake.client()
    posted = await client.chat_postMessage(channel=fake.channel, text="before")
    fake.workspace.remove_bot("#releases")
    assert (await refusal(client.chat_postMessage(channel=fake.channel, text="x")))["error"] == "not_in_channel"
    update = client.chat_update(channel=fake.channel, ts=posted["ts"], text="edited")
    assert (await refusal(update))["error"] == "not_in_channel"
    ephemeral = client.chat_postEphemeral(channel=fake.channel, user="U0ALICE", text="x")
    assert (await refusal(ephemeral))["error"] == "not_in_channel"
    assert [m.text for m in fake.workspace.messages.values()] == ["before"]


async def test_an_archived_channel_refuses_posts_and_updates(fake: Fake) -> None:
    client = fake.client()
    posted = await client.chat_postMessage(channel=fake.channel, text="before")
    fake.workspace.archive(fake.channel)
    assert (await refusal(client.chat_postMessage(channel=fake.channel, text="x")))["error"] == "is_archived"
    # chat.update's docs name is_inactive for "a frozen, archived or deleted channel".
    update = client.chat_update(channel=fake.channel, ts=posted["ts"], text="edited")
    assert (await refusal(update))["error"] == "is_inactive"


async def test_unknown_channels_are_not_found(fake: Fake) -> None:
    client = fake.client()
    assert (await refusal(client.chat_postMessage(channel="C0NOWHERE", text="x")))["error"] == "channel_not_found"
    assert (await refusal(client.conversations_join(channel="C0NOWHERE")))["error"] == "channel_not_found"


async def test_direct_messages_are_always_allowed(fake: Fake) -> None:
    client = fake.client()
    dm = (await client.conversations_open(users="U0ALICE"))["channel"]["id"]
    fake.workspace.channels[dm].bot_member = False  # membership is not what governs DMs
    await client.chat_postMessage(channel=dm, text="your shift starts")
    assert (await refusal(client.conversations_join(channel=dm)))["error"] == "method_not_supported_for_channel_type"


async def test_joining_lets_the_bot_post_again(fake: Fake) -> None:
    client = fake.client()
    fake.workspace.remove_bot(fake.channel)
    joined = await client.conversations_join(channel=fake.channel)
    assert joined["channel"]["id"] == fake.channel and joined["channel"]["is_member"] is True
    assert "warning" not in joined.data
    await client.chat_postMessage(channel=fake.channel, text="back")
    again = await client.conversations_join(channel=fake.channel)
    assert again["warning"] == "already_in_channel"
    assert again["response_metadata"] == {"warnings": ["already_in_channel"]}


async def test_an_archived_channel_cannot_be_joined(fake: Fake) -> None:
    fake.workspace.remove_bot(fake.channel)
    fake.workspace.archive(fake.channel)
    assert (await refusal(fake.client().conversations_join(channel=fake.channel)))["error"] == "is_archived"
    assert not fake.workspace.channels[fake.channel].bot_member


async def test_join_needs_ids_not_names(fake: Fake) -> None:
    assert (await refusal(fake.client().conversations_join(channel="#releases")))["error"] == "channel_not_found"


async def test_without_channels_join_the_join_is_a_missing_scope(fake: Fake) -> None:
    fake.workspace.remove_bot(fake.channel)
    fake.workspace.join_allowed = False
    answer = await refusal(fake.client().conversations_join(channel=fake.channel))
    assert answer.data == {"ok": False, "error": "missing_scope", "needed": "channels:join",
                           "provided": ",".join(fake.workspace.bot_scopes)}
    assert "chat:write" in answer["provided"]
    assert not fake.workspace.channels[fake.channel].bot_member


def test_seeded_channels_have_the_bot_in_them() -> None:
    workspace = Workspace()
    seed_workspace(workspace, load_config(EXAMPLE_CONFIG))
    channels = [c for c in workspace.channels.values() if not c.is_im]
    assert channels and all(c.bot_member and not c.archived for c in channels)


def test_helpers_name_channels_by_id_or_name_and_refuse_unknown_ones() -> None:
    workspace = Workspace()
    channel = workspace.add_channel("#ops")
    assert workspace.remove_bot("ops") is channel and not channel.bot_member
    assert workspace.add_bot(channel.id).bot_member
    assert workspace.archive("#ops").archived
    with pytest.raises(KeyError, match="nowhere"):
        workspace.archive("#nowhere")
