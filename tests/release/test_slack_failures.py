"""A release against a Slack that fails (Done-when 1 of the release-engine issue, defects 1, 2, 7).

Every Slack call a release makes — the parent message, each reply, each update of the parent — is
made to answer 429, 500, a timeout or `not_in_channel` in turn, through the real wire (signed
requests in, the fake Web API out, with its per-channel rate limit on). Whatever Slack does, the
release completes or ends cleanly, its ledger is complete, each thread message appears exactly once
and in order once Slack answers again, the environment is free afterwards, and the requester knows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.outbox.models import OutboxMessage, OutboxState
from bot.release import service as releases
from bot.release.models import ReleaseState
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ALICE = "U0ALICE"
# a staging release: parent, preview, risk, 4 gate replies, decision, dispatch, stage result, outcome, report
POSTS = 12
UPDATES = 4  # the parent, edited as the release moves (some edits may be merged into a later one)
FAILURES: dict[str, dict[str, Any]] = {
    "429": {"status": 429, "retry_after": 2},
    "500": {"status": 500, "error": "internal_error"},
    # Slack posts it, but the answer comes after the client's 1 s timeout: looked for, not posted again.
    "timeout_done": {"delay": 1.5, "drop_response": True},
    # The answer never comes in time and Slack did not post it: looked for, then posted.
    "timeout_lost": {"delay": 1.5, "status": 503},
    "not_in_channel": {"error": "not_in_channel"},
}
ENVIRON = {"SWITCHMAN_SLACK_TIMEOUT": "1s"}
LEDGER = ["risk"] + ["gate_verdict"] * 4 + ["decision", "stage_result", "outcome", "report"]


def nth_call(n: int) -> Callable[[dict[str, Any]], bool]:
    counter = itertools.count()
    return lambda _: next(counter) == n


async def deploy_to_staging(s: Scenario) -> None:
    await s.command(ALICE, "api v1.0.0 to staging")
    await s.stack.settle()


async def assert_clean_end(s: Scenario, *, expected: ReleaseState = ReleaseState.SUCCEEDED,
                           thread_posted: bool = True) -> None:
    [release] = await s.releases()
    assert release.state == expected
    kinds = [d.kind for d in await s.ledger(release.id)]
    if expected == ReleaseState.SUCCEEDED:
        assert sorted(kinds) == sorted(LEDGER)
    else:
        assert kinds[-2:] == ["outcome", "report"]  # the report is chained even when Slack refuses the thread
    async with s.stack.ctx.db.session() as session:
        assert await releases.active_release(session, service="api", environment="staging") is None
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.thread == f"release:{release.id}")
                                   .order_by(col(OutboxMessage.id)))).all()
    assert all(r.state != OutboxState.PENDING for r in rows)  # nothing left to send
    if expected != ReleaseState.SUCCEEDED or not thread_posted:
        return
    posted = [r for r in rows if r.kind == "post"]
    assert [r.state for r in posted] == [OutboxState.SENT] * POSTS
    thread = s.thread(release)
    assert len(thread) == POSTS - 1  # the replies, each exactly once
    assert [m.ts for m in thread] == [r.sent_ts for r in posted[1:]]  # in the order they were decided
    assert len({m.text for m in thread}) == len(thread)
    await s.assert_ends_with_report(release.id or 0)
    assert "succeeded" in s.parent(release).text or any(r.state != OutboxState.SENT for r in rows
                                                        if r.kind == "update")
    assert any("Release #1 started" in t for t in s.ephemerals(ALICE))


async def assert_refused_cleanly(s: Scenario) -> None:
    """The thread was refused: the release ended failed — or had finished already, the refusal racing it —
    and either way the requester got a DM saying what to do, the ledger has the outcome, nothing waits."""
    [release] = await s.releases()
    assert release.state in (ReleaseState.FAILED, ReleaseState.SUCCEEDED)
    await assert_clean_end(s, expected=ReleaseState(release.state), thread_posted=False)
    dms = [m.text for m in s.stack.workspace.messages.values() if m.channel.startswith("D")]
    assert any("Switchman is not in #api-releases. Invite it there (`/invite @Switchman`)" in t for t in dms)


async def test_a_release_makes_the_calls_these_tests_fail(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        environ=ENVIRON) as s:
        await deploy_to_staging(s)
        await assert_clean_end(s)
        async with s.stack.ctx.db.session() as session:
            updates = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "update"))).all()
        assert len(updates) == UPDATES


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("call", [("chat.postMessage", n) for n in range(POSTS)]
                         + [("chat.update", n) for n in range(UPDATES)], ids=lambda c: f"{c[0]}#{c[1]}")
async def test_one_failing_slack_call_never_loses_or_repeats_anything(
        tmp_path: Path, slack_contract: SlackContract, call: tuple[str, int], failure: str) -> None:
    method, n = call
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        environ=ENVIRON) as s:
        s.stack.api.fail(method, match=nth_call(n), **FAILURES[failure])
        await deploy_to_staging(s)
        # A refused reply is posted again after joining the channel by its id; the parent is posted to
        # `#api-releases` by name, which cannot be joined without its id: that release ends, cleanly.
        if (method, n, failure) == ("chat.postMessage", 0, "not_in_channel"):
            await assert_refused_cleanly(s)
        else:
            await assert_clean_end(s)


async def test_the_bot_missing_from_the_channel_ends_the_release_and_says_what_to_do(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        environ=ENVIRON) as s:
        s.stack.workspace.remove_bot("#api-releases")
        await deploy_to_staging(s)
        await assert_refused_cleanly(s)
        [release] = await s.releases()
        [outcome] = [d for d in await s.ledger(release.id) if d.kind == "outcome"]
        if release.state == ReleaseState.FAILED:
            assert outcome.evidence["slack_error"] == "not_in_channel"

        s.stack.workspace.add_bot("#api-releases")  # invited: the next deploy goes through, nothing is wedged
        await s.command(ALICE, "api v1.0.1 to staging")
        assert (await s.releases())[-1].state == ReleaseState.SUCCEEDED


async def test_cancel_after_the_channel_refused_answers_that_it_already_ended(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        environ=ENVIRON) as s:
        s.stack.workspace.remove_bot("#api-releases")
        await deploy_to_staging(s)
        await s.command(ALICE, "cancel 1")
        assert any("release #1 already ended" in t for t in s.ephemerals(ALICE))
        assert [d.kind for d in await s.ledger(1)].count("outcome") == 1


async def test_a_permalink_slack_did_not_give_at_once_is_asked_for_again(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        environ=ENVIRON) as s:
        s.stack.api.fail("chat.getPermalink", status=500, error="internal_error", times=3)
        await deploy_to_staging(s)
        await assert_clean_end(s)
        assert all(await s.permalinks(1))  # every decision links to its message in the end
