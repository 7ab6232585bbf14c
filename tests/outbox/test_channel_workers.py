"""Each channel's outbox worker reads only its own channel's rows (not every pending thread's head, which
made a thousand releases' workers read a million rows); every thread is still sent whole and in order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.outbox import queue as outbox
from bot.outbox.models import OutboxMessage, OutboxState
from bot.slack_sim.workspace import BOT_USER_ID
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def posted(s: Scenario) -> list[str]:
    """Texts the bot posted, in the order Slack received them."""
    return [e.text for e in s.stack.workspace.events if e.kind == "message" and e.user == BOT_USER_ID]


async def queue_posts(s: Scenario, posts: list[tuple[str, str, str]]) -> None:
    async with s.stack.ctx.db.session() as session:
        for thread, channel, text in posts:
            outbox.post(session, thread=thread, channel=channel, message=(text, []), now=s.clock.now())
        await session.commit()


async def test_threads_of_several_channels_are_each_sent_in_order(tmp_path: Path,
                                                                  slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as s:
        for name in ("#first", "#second"):
            s.stack.workspace.add_channel(name)
        await queue_posts(s, [("a", "#first", "a 1"), ("b", "#second", "b 1"), ("c", "#second", "c 1"),
                              ("a", "#first", "a 2"), ("b", "#second", "b 2"), ("c", "#second", "c 2"),
                              ("d", "#first", "d 1"), ("b", "#second", "b 3")])
        await s.stack.settle()

        sent = posted(s)
        assert sorted(sent) == ["a 1", "a 2", "b 1", "b 2", "b 3", "c 1", "c 2", "d 1"]
        for thread in "abcd":
            mine = [t for t in sent if t.startswith(f"{thread} ")]
            assert mine == sorted(mine)
        assert await s.stack.ctx.outbox.depth() == 0  # type: ignore[union-attr]
        async with s.stack.ctx.db.session() as session:
            row = await session.get(OutboxMessage, 1)
        assert row is not None and row.state == OutboxState.SENT


async def test_a_thread_that_moves_between_channels_is_handed_on_without_another_wake(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as s:
        for name in ("#first", "#second"):
            s.stack.workspace.add_channel(name)
        # One commit, so one wake: at that moment only "x 1" heads its thread, so only #first gets a worker.
        await queue_posts(s, [("x", "#first", "x 1"), ("x", "#second", "x 2"), ("x", "#first", "x 3")])
        await s.stack.settle()

        assert posted(s) == ["x 1", "x 2", "x 3"]
        assert await s.stack.ctx.outbox.depth() == 0  # type: ignore[union-attr]


async def test_a_row_refused_for_good_hands_its_thread_on_to_the_next_channel(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as s:
        s.stack.workspace.add_channel("#second")
        await queue_posts(s, [("y", "C0NOWHERE", "y 1"), ("y", "#second", "y 2")])
        await s.stack.settle()

        assert posted(s) == ["y 2"]
        async with s.stack.ctx.db.session() as session:
            first = await session.get(OutboxMessage, 1)
        assert first is not None and first.state == OutboxState.FAILED
        assert await s.stack.ctx.outbox.depth() == 0  # type: ignore[union-attr]
