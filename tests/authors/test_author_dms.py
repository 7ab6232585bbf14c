"""Done-when 4 of issue 14: every commit author hears where their change runs, or why it was rolled back.

Through the real wire: signed slash commands into the Bolt app, the fake GitHub's compare (with git
author emails, contract-checked) and the fake Slack (users.lookupByEmail, conversations.open,
chat.postMessage, checked against the Slack contract), on simulated time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.authors.models import NoticeState
from bot.outbox.models import OutboxKind, OutboxMessage, OutboxState
from bot.release.models import ReleaseState
from bot.simulated_time import SimulatedTime
from tests.authors.bed import ADA, ALICE, C1, C2, C4, GRACE, SHA1, SHA2, TOKEN, bed, prepare_github
from tests.contracts.github_contract import GitHubContract
from tests.contracts.slack_contract import SlackContract
from tests.fakes.github_server import FakeGitHub
from tests.release.scenario import texts

WEDNESDAY = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


@pytest.fixture
def time() -> SimulatedTime:
    return SimulatedTime(WEDNESDAY)


@pytest.fixture
async def github(time: SimulatedTime) -> AsyncIterator[FakeGitHub]:
    fake = await FakeGitHub(GitHubContract.load(), clock=time.now, token=TOKEN).start()
    prepare_github(fake)
    yield fake
    await fake.stop()
    assert fake.violations == [], f"calls GitHub would have rejected: {fake.violations}"


async def test_each_author_is_told_once_per_release_after_success_and_after_rollback(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, time: SimulatedTime) -> None:
    async with bed(tmp_path, slack_contract, github, time) as b:
        s = b.s
        for env in ("staging", "production"):  # v1.0 first: nothing to compare with, nobody to tell
            await s.command(ALICE, f"api v1.0 to {env}")
        await b.deliver()
        assert [r.state for r in await s.releases()] == [ReleaseState.SUCCEEDED] * 2
        assert await b.notices() == [] and b.lookups() == []

        # Slack rate-limits the first lookup, and the first DM post, once each.
        s.stack.api.fail("users.lookupByEmail", status=429, retry_after=3)
        s.stack.api.fail("chat.postMessage", status=429, retry_after=2,
                         match=lambda p: str(p.get("channel", "")).startswith("D"))
        await s.command(ALICE, "api v1.1 to staging")
        staging = (await s.releases())[-1]
        assert staging.state == ReleaseState.SUCCEEDED
        await b.deliver(5)
        [ada_dm] = b.dms(ADA)  # two commits by Ada: one DM, listing both
        assert "Your change is live in *api staging* since Wed 18 Nov 10:0" in ada_dm.text
        assert "EST (America/New_York)" in ada_dm.text
        assert f"`{C1[:10]}` Cache the session lookup" in ada_dm.text and f"`{C2[:10]}`" in ada_dm.text
        assert f"release #{staging.id}" in ada_dm.text and "archives/" in ada_dm.text  # the thread's permalink
        [grace_dm] = b.dms(GRACE)  # found by her address in another case
        assert "JST (Asia/Tokyo)" in grace_dm.text and f"`{SHA1[:10]}` Handle empty carts" in grace_dm.text
        assert C1[:10] not in grace_dm.text
        # One lookup per address a person may have: the bot's address is never looked up.
        assert sorted(set(b.lookups())) == ["ada@acme.test", "grace@acme.test", "stranger@elsewhere.test"]
        states = {n.email: n.state for n in await b.notices()}
        assert states == {"ada@acme.test": NoticeState.QUEUED, "grace@acme.test": NoticeState.QUEUED,
                          "stranger@elsewhere.test": NoticeState.UNKNOWN,
                          "49699333+dependabot[bot]@users.noreply.github.com": NoticeState.BOT}
        # Both 429s were met (and waited out): the lookup's held every lookup, the post's held the DM.
        assert not s.stack.api.failures.get("users.lookupByEmail") and not s.stack.api.failures.get("chat.postMessage")
        assert any(n.last_error == "ratelimited" for n in await b.notices())
        assert not any("stranger" in t or "error" in t.lower() for t in s.ephemerals(ALICE))  # nothing to the requester

        # The same change reaches production: each author hears again (another release), with no new lookup.
        lookups_before = len(b.lookups())
        await s.command(ALICE, "api v1.1 to production")
        production = (await s.releases())[-1]
        assert production.state == ReleaseState.SUCCEEDED
        await b.deliver()
        assert len(b.lookups()) == lookups_before  # answers (and the miss) are cached
        ada_live = b.dms(ADA)[-1].text
        assert len(b.dms(ADA)) == 2 and "live in *api production*" in ada_live
        assert "It also runs in *staging* (since Wed 18 Nov" in ada_live

        # /deploy where: the commit runs in both environments, each since its own release.
        await s.command(ALICE, f"where {C1[:12]}")
        answer = s.ephemerals(ALICE)[-1]
        assert f"*Where `{C1[:10]}` runs:*" in answer
        assert "• *staging* since <!date^" in answer and f"release #{staging.id}" in answer
        assert "• *production* since <!date^" in answer and f"release #{production.id}" in answer

        # A rollback of production: the authors hear why; the commit runs in staging only now.
        await s.command(ALICE, 'api production --reason "checkout errors"', command="/rollback")
        assert (await s.release(production.id or 0)).state == ReleaseState.ROLLED_BACK
        await b.deliver()
        assert len(b.dms(ADA)) == 3 and len(b.dms(GRACE)) == 3
        rolled = b.dms(ADA)[-1].text
        assert "Your change was rolled back in *api production*" in rolled and "*Why:* checkout errors" in rolled
        assert "EST (America/New_York)" in rolled
        await s.command(ALICE, f"where {C1}")
        answer = s.ephemerals(ALICE)[-1]
        assert "*staging*" in answer and "*production*" not in answer

        # `/deploy where me`: Ada's commits (found by her Slack profile's email), newest first, and where they run.
        await s.command(ADA, "where me")
        mine = s.ephemerals(ADA)[-1]
        assert mine.index(f"`{C2[:10]}` Expire the cache (api) — *staging* since") < mine.index(f"`{C1[:10]}`")
        assert "*production*" not in mine
        await s.command(ALICE, "where me")  # Alice's profile shows no email and she authored nothing here
        assert "I cannot tell which commits are yours" in s.ephemerals(ALICE)[-1]

        # A delivery run again (a takeover re-plans, a retried job) sends nothing more.
        await b.deliver(60)
        assert [len(b.dms(ADA)), len(b.dms(GRACE))] == [3, 3]
        assert len(b.lookups()) == lookups_before


async def test_a_restart_in_the_middle_neither_loses_nor_repeats_a_dm(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, time: SimulatedTime) -> None:
    async with bed(tmp_path, slack_contract, github, time) as b:
        s = b.s
        await s.command(ALICE, "api v1.0 to staging")
        await b.deliver()
        # Slack answers 500 to every lookup; the process dies with the DMs still owed.
        s.stack.api.fail("users.lookupByEmail", status=500, error="internal_error", times=100)
        await s.command(ALICE, "api v1.1 to staging")
        await b.deliver()
        assert b.dms(ADA) == [] and {n.state for n in await b.notices()} >= {NoticeState.PENDING}
        workspace = b.workspace
    async with bed(tmp_path, slack_contract, github, time, workspace=workspace) as b:
        await b.deliver(120)
        assert len(b.dms(ADA)) == 1 and len(b.dms(GRACE)) == 1
        assert "live in *api staging*" in b.dms(ADA)[0].text
        assert {n.state for n in await b.notices() if n.email.startswith(("ada", "grace"))} == {NoticeState.QUEUED}
    async with bed(tmp_path, slack_contract, github, time, workspace=workspace) as b:
        await b.deliver(120)  # a third start finds nothing owed
        assert len(b.dms(ADA)) == 1 and len(b.dms(GRACE)) == 1


async def test_a_dm_queued_before_a_restart_is_sent_once_after_it(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, time: SimulatedTime) -> None:
    async with bed(tmp_path, slack_contract, github, time) as b:
        s = b.s
        await s.command(ALICE, "api v1.0 to staging")
        await b.deliver()
        # From here the process sends nothing to Slack (it dies with everything recorded in its outbox).
        assert s.stack.ctx.outbox is not None
        s.stack.ctx.outbox.leading = lambda: False
        await s.command(ALICE, "api v1.1 to staging")
        await b.deliver()
        assert b.dms(ADA) == [] and b.dms(GRACE) == []
        async with s.stack.ctx.db.session() as session:
            owed = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.DM))).all()
        assert sorted(m.channel for m in owed) == [ADA, GRACE] and {m.state for m in owed} == {OutboxState.PENDING}
        workspace = b.workspace
    async with bed(tmp_path, slack_contract, github, time, workspace=workspace) as b:
        await b.deliver(700)
        assert len(b.dms(ADA)) == 1 and len(b.dms(GRACE)) == 1
        assert b.lookups() == []  # the people were found before the restart; the DMs were already queued


async def test_deploy_where_bad_input_gets_one_line_and_the_usage(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, time: SimulatedTime) -> None:
    async with bed(tmp_path, slack_contract, github, time) as b:
        s = b.s
        for text in ("where", "where a b", "where ..bad"):
            await s.command(ALICE, text)
            event = [e for e in s.stack.workspace.events if e.kind == "ephemeral" and e.user == ALICE][-1]
            assert event.text.startswith(":warning:") and len(event.text.splitlines()) <= 2, event.text
            assert "`/deploy help` for the full usage" in texts(list(event.blocks)), event.blocks
        await s.command(ALICE, f"where {C4[:9]}")
        assert "Switchman has recorded no release of or with" in s.ephemerals(ALICE)[-1]
        assert await s.releases() == []


async def test_deploy_where_follows_each_environment_back_through_its_releases(
        tmp_path: Path, slack_contract: SlackContract, github: FakeGitHub, time: SimulatedTime) -> None:
    async with bed(tmp_path, slack_contract, github, time) as b:
        s = b.s
        for ref, env in (("v1.0", "staging"), ("v1.0", "production"), ("v1.1", "staging"), ("v1.1", "production"),
                         ("v1.2", "staging")):
            await s.command(ALICE, f"api {ref} to {env}")
        await b.deliver()
        staging_11, production_11, staging_12 = (await s.releases())[2:]
        assert staging_12.state == ReleaseState.SUCCEEDED

        async def where(asked: str) -> str:
            await s.command(ALICE, f"where {asked}")
            return s.ephemerals(ALICE)[-1]

        # C1 came with v1.1; staging has moved on to v1.2, which was deployed over it: it still runs there.
        answer = await where(C1[:7])
        assert "• *staging* since <!date^" in answer and f"release #{staging_11.id}>; now running" in answer
        assert f"release #{staging_12.id}> `v1.2`" in answer
        assert "• *production* since <!date^" in answer and f"release #{production_11.id}>" in answer
        assert (await where("v1.1")).startswith(f"*Where `v1.1` (`{SHA1[:10]}`, as of ")  # a released ref
        only_staging = await where(SHA2)
        assert "*staging*" in only_staging and "*production*" not in only_staging

        # Staging rolls back to v1.1: v1.2 runs nowhere; C1 still runs there, through the rollback's target.
        await s.command(ALICE, "api staging", command="/rollback")
        await b.deliver()
        assert f"`{SHA2[:10]}` does not run in any environment now" in await where(SHA2[:12])
        back = await where(C1)
        assert "*staging*" in back and "*production*" in back
        assert "rolled back in *api staging*" in b.dms(ADA)[-1].text and SHA2[:10] in b.dms(ADA)[-1].text
        assert "rolled back" not in b.dms(GRACE)[-1].text  # v1.2 had no commit of hers

        # Staging rolls back again, to v1.0: that takes out v1.1, which the first rollback had brought back.
        ada_before, grace_before = len(b.dms(ADA)), len(b.dms(GRACE))
        await s.command(ALICE, "api staging to v1.0", command="/rollback")
        await b.deliver()
        assert [len(b.dms(ADA)), len(b.dms(GRACE))] == [ada_before + 1, grace_before + 1]  # Ada: one DM, both commits
        again = b.dms(ADA)[-1].text
        assert "rolled back in *api staging*" in again and C1[:10] in again and C2[:10] in again
        assert SHA2[:10] not in again  # that one was out already
        assert f"`{SHA1[:10]}` Handle empty carts" in b.dms(GRACE)[-1].text
        assert "*staging*" not in await where(C1)
        assert "Switchman has recorded no release of or with `v1.9`" in await where("v1.9")
