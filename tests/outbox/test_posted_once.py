"""Each state change reaches Slack once: a release's parent message is never edited to what it already says,
and no thread reply is posted twice (counted through the fake Slack's Web API)."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from bot.outbox import queue as outbox
from bot.slack_sim.stack import Stack


def parent_versions(stack: Stack) -> list[tuple[str, str]]:
    """(text, blocks) of the first release parent as posted, then as each chat.update left it."""
    posted = next(c for c in stack.api.calls_of("chat.postMessage") if "thread_ts" not in c.params)
    versions = [(posted.params["text"], str(posted.params.get("blocks")))]
    versions += [(c.params["text"], str(c.params.get("blocks"))) for c in stack.api.calls_of("chat.update")]
    return versions


async def test_a_release_posts_each_state_change_once(stack: Stack) -> None:
    await stack.slack.slash_command("U0ALICE", "/deploy", "api v1.4.2 to staging", channel="#api-releases")
    await stack.settle()

    versions = parent_versions(stack)
    assert versions[-1][0].endswith(":white_check_mark: succeeded")
    repeats = [a[0] for a, b in pairwise(versions) if a == b]
    assert repeats == [], "the parent was edited to what it already said"
    replies = Counter(c.params["text"] for c in stack.api.calls_of("chat.postMessage") if "thread_ts" in c.params)
    assert [text for text, count in replies.items() if count > 1] == []
    rolling_out = [text for text, _ in versions if "rolling out" in text]
    assert len(rolling_out) <= 1


async def test_an_edit_to_what_the_message_already_says_is_not_sent(stack: Stack) -> None:
    """Sent one by one (as in real time, where queued edits are not merged): only real changes are edits."""
    rolling: outbox.Message = ("Release #9 — rolling out", [])
    versions = [("Release #9 — checking gates", []), rolling, rolling, ("Release #9 — verifying", []), rolling]
    for i, message in enumerate(versions):
        async with stack.ctx.db.session() as session:
            now = stack.ctx.clock.now()
            if i == 0:
                outbox.post(session, thread="release:9", channel="#api-releases", message=message, now=now,
                            anchor="release:9")
            else:
                outbox.update(session, thread="release:9", target="release:9", channel="#api-releases",
                              message=message, now=now)
        await stack.settle()

    edits = [c.params["text"] for c in stack.api.calls_of("chat.update")]
    assert edits == ["Release #9 — rolling out", "Release #9 — verifying", "Release #9 — rolling out"]
