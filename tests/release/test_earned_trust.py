"""Deploy rights earned by pairing (§4 `trust:`), end to end through signed requests and the simulated Slack.

Dave is a developer, not among production's deployers (only Alice is); Carol and Bob are in @sre, the
pairing group. Dave releases paired until Switchman proposes the right, Carol grants it, Dave deploys
alone, Bob revokes it, and Dave is paired again — every step a ledger row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.ledger import service as ledger
from bot.release.models import ReleaseState
from bot.release.trust_models import DeployRight, TrustPair, TrustProposal
from bot.slack.ids import ActionId
from bot.slack_sim.interactions import Delivery
from bot.slack_sim.workspace import SimMessage
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import Scenario, delivered_three_times, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ALICE, BOB, CAROL, DAVE = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"

CONFIG = """
providers:
  sandbox: {kind: sandbox, run_duration: 30s}
services:
  api:
    channel: "#api-releases"
    provider: sandbox
    repo: acme/api
    workflow: deploy.yml
    rotation: api-oncall
    environments:
      production:
        gates: [{ci_green: {owner: "@sre"}}, not_locked]
        deployers: [U0ALICE]
        trust: {paired_releases: 2, with: "@sre"}
rotations:
  api-oncall:
    channel: "#api-oncall"
    timezone: Europe/Berlin
    handoff: {every: week, day: monday, at: "10:00"}
    primaries: [U01OPS1]
    services: [api]
"""


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with scenario(tmp_path, slack_contract, config=CONFIG, start=WEDNESDAY) as running:
        yield running


@pytest.fixture
async def on_either_database(tmp_path: Path, slack_contract: SlackContract,  # type: ignore[no-untyped-def]
                             database_url: str):
    """The same bed on SQLite and on a real PostgreSQL server (the `postgres` mark)."""
    async with scenario(tmp_path, slack_contract, config=CONFIG, start=WEDNESDAY,
                        database_url=database_url) as running:
        yield running


def channel_messages(s: Scenario, name: str = "#api-releases") -> list[SimMessage]:
    channel = s.stack.workspace.channel_by_name(name)
    assert channel is not None
    return s.stack.workspace.channel_history(channel.id)


def dms(s: Scenario, user: str) -> list[str]:
    return [m.text for m in s.stack.workspace.channel_history(s.stack.workspace.im_with(user).id)]


def proposal_post(s: Scenario) -> SimMessage:
    posts = [m for m in channel_messages(s) if any(
        e.get("action_id") == ActionId.TRUST_APPROVE for b in m.blocks for e in b.get("elements", []))]
    assert posts, "no deploy-rights proposal was posted"
    return posts[-1]


def button(message: SimMessage, action_id: str) -> tuple[str | None, str | None]:
    """(block_id, value) of a button, read now: a later click may come from a client still showing it."""
    for block in message.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return block.get("block_id"), element.get("value")
    raise AssertionError(f"no {action_id} button on the message")


async def press_on(s: Scenario, user: str, message: SimMessage, action_id: str,
                   shown: tuple[str | None, str | None] | None = None) -> Delivery:
    block_id, value = shown or button(message, action_id)
    delivery = await s.stack.slack.block_action(user, message, action_id=action_id, block_id=block_id, value=value)
    await s.stack.settle()
    return delivery


async def paired_release(s: Scenario, ref: str, *, pair: str = CAROL) -> int:
    await s.command(DAVE, f"api {ref} to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.AWAITING_APPROVAL
    await s.press(pair, release, ActionId.JOIN_PAIR)
    release = await s.release(release.id or 0)
    assert release.state == ReleaseState.SUCCEEDED, release.state
    return release.id or 0


async def trust_rows(s: Scenario) -> list[tuple[str, str, str]]:
    return [(d.kind, d.outcome, d.actor) for d in await s.ledger() if d.kind in ("pair", "trust")]


async def test_paired_releases_earn_the_right_which_is_granted_used_and_revoked(on_either_database: Scenario) -> None:
    s = on_either_database
    # 1. Dave is no deployer: his release waits, visibly, for a pair from @sre.
    await s.command(DAVE, "api v1.0.0 to production")
    first = (await s.releases())[-1]
    assert first.state == ReleaseState.AWAITING_APPROVAL
    thread = s.thread_text(first)
    assert "*WAITING* — <@U0DAVE> is not yet a deployer of production" in thread and "@sre" in thread
    assert "awaiting approval" in s.parent(first).text
    await s.press(DAVE, first, ActionId.JOIN_PAIR)  # nobody pairs with themselves
    assert any("you cannot pair with yourself" in t for t in s.ephemerals(DAVE))
    await s.press(ALICE, first, ActionId.JOIN_PAIR)  # a deployer, but not in @sre
    assert any("only members of @sre can join release #1 as pair" in t for t in s.ephemerals(ALICE))
    assert (await s.release(1)).state == ReleaseState.AWAITING_APPROVAL
    await s.press(CAROL, first, ActionId.JOIN_PAIR)
    await s.press(BOB, first, ActionId.JOIN_PAIR)  # a second member: the release has its pair already
    first = await s.release(1)
    assert first.state == ReleaseState.SUCCEEDED
    thread = s.thread_text(first)
    assert "<@U0CAROL> joined as pair of <@U0DAVE>" in thread
    stage_posts = [m.text for m in s.thread(first) if m.text.startswith((":truck:", ":white_check_mark: Rollout"))]
    assert len(stage_posts) == 2 and all("(<@U0DAVE> paired with <@U0CAROL>)" in t for t in stage_posts)
    assert "Paired release 1/2 of <@U0DAVE>" in thread
    await s.assert_ends_with_report(1)
    assert not [m for m in channel_messages(s) if "has shipped" in m.text]  # 1 of 2: nothing proposed yet

    # 2. The second paired release reaches the threshold: Switchman proposes the right.
    await paired_release(s, "v1.0.1", pair=BOB)
    post = proposal_post(s)
    assert "<@U0DAVE> has shipped 2 successful paired releases of api to production" in post.text
    await press_on(s, ALICE, post, ActionId.TRUST_APPROVE)  # not in @sre
    assert any("only members of @sre can approve this proposal" in t for t in s.ephemerals(ALICE))
    await press_on(s, DAVE, post, ActionId.TRUST_APPROVE)  # his own rights
    assert any("you cannot approve your own deploy rights" in t for t in s.ephemerals(DAVE))

    # 3. Carol approves (twice: a double click counts once); the grant is a ledger decision.
    shown = button(post, ActionId.TRUST_APPROVE)
    await press_on(s, CAROL, post, ActionId.TRUST_APPROVE, shown)
    await press_on(s, CAROL, post, ActionId.TRUST_APPROVE, shown)  # from a client still showing the buttons
    assert any("already decided by <@U0CAROL>" in t and "counts once" in t for t in s.ephemerals(CAROL))
    assert any("you approved deploy rights for <@U0DAVE> in api production" in t for t in s.ephemerals(CAROL))
    assert "<@U0CAROL> approved" in s.stack.workspace.messages[(post.channel, post.ts)].text
    assert any("granted you the right to deploy api to production" in t for t in dms(s, DAVE))
    async with s.stack.ctx.db.session() as session:
        [proposal] = (await session.exec(select(TrustProposal))).all()
        right = await session.get(DeployRight, ("api", "production", DAVE))
    assert (proposal.state, proposal.decided_by, proposal.paired_releases) == ("approved", CAROL, 2)
    assert right is not None and right.granted and right.granted_by == CAROL

    # 4. From then on Dave deploys production on his own: no pair gate, no wait.
    await s.command(DAVE, "api v1.1.0 to production")
    alone = (await s.releases())[-1]
    assert alone.state == ReleaseState.SUCCEEDED
    assert "Join as pair" not in s.thread_text(alone) and "pair" not in {d.evidence.get("gate") for d in
                                                                         await s.ledger(alone.id)}
    await s.command(CAROL, "trust <@U0DAVE>")
    assert any("deploys without a pair — granted by <@U0CAROL>" in t for t in s.ephemerals(CAROL))

    # 5. Revoking is for @sre members, recorded, and takes the right away: Dave is paired again.
    await s.command(DAVE, "trust revoke <@U0DAVE> api production")
    assert any("only members of @sre can revoke deploy rights" in t for t in s.ephemerals(DAVE))
    await s.command(BOB, "trust revoke <@U0DAVE> api production")
    assert any("revoked <@U0DAVE>'s deploy right in api production" in t for t in s.ephemerals(BOB))
    assert any("revoked your right to deploy api to production" in t for t in dms(s, DAVE))
    await s.command(DAVE, "api v1.2.0 to production")
    again = (await s.releases())[-1]
    assert again.state == ReleaseState.AWAITING_APPROVAL and "Join as pair" in s.thread_text(again)
    await s.command(DAVE, "trust")
    assert any("<@U0DAVE> — *api production*: 0/2 paired releases (pairing with @sre); right revoked by <@U0BOB>"
               in t for t in s.ephemerals(DAVE))

    # Every step is in the ledger, in order, and the chain is intact.
    assert await trust_rows(s) == [
        ("pair", "joined", CAROL), ("pair", "joined", BOB), ("trust", "proposed", "switchman"),
        ("trust", "granted", CAROL), ("trust", "revoked", BOB)]
    granted = next(d for d in await s.ledger() if d.outcome == "granted")
    assert granted.subject == "api/production:U0DAVE" and granted.evidence["paired_releases"] == 2
    assert right.grant_seq == granted.seq
    async with s.stack.ctx.db.session() as session:
        assert (await ledger.verify(session)).ok
        pairs = (await session.exec(select(TrustPair))).all()
    assert [(p.release_id, p.developer, p.pair) for p in pairs] == [(1, DAVE, CAROL), (2, DAVE, BOB)]


async def test_not_yet_waits_for_as_many_more_paired_releases(s: Scenario) -> None:
    await paired_release(s, "v1.0.0")
    await paired_release(s, "v1.0.1")
    await press_on(s, BOB, proposal_post(s), ActionId.TRUST_NOT_YET)
    assert any("answered Not yet to your deploy rights" in t for t in dms(s, DAVE))
    await paired_release(s, "v1.0.2")
    assert len([m for m in channel_messages(s) if "has shipped" in m.text]) == 1  # 1 of 2 since "not yet"
    await paired_release(s, "v1.0.3")
    assert len([m for m in channel_messages(s) if "has shipped" in m.text]) == 2
    assert [o for k, o, _ in await trust_rows(s) if k == "trust"] == ["proposed", "not_yet", "proposed"]


async def test_a_paired_release_rolled_back_pages_developer_and_pair(s: Scenario) -> None:
    await paired_release(s, "v1.0.0")
    await paired_release(s, "v1.0.1")
    await s.command(ALICE, "api production --reason \"errors after v1.0.1\"", command="/rollback")
    [rollback] = [r for r in await s.releases() if r.kind == "rollback"]
    assert rollback.state == ReleaseState.SUCCEEDED
    bad = await s.release(2)
    assert "Paged the pair: <@U0DAVE> and <@U0CAROL>" in s.thread_text(bad)
    for person in (DAVE, CAROL):
        assert any("is being rolled back" in t and "paired with <@U0CAROL>" in t for t in dms(s, person))


async def test_a_failing_gate_mentions_its_owner(s: Scenario) -> None:
    await s.command(ALICE, "api hotfix-fail to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.BLOCKED
    sre = s.stack.workspace.usergroup("@sre")
    assert sre is not None
    ci = next(m.text for m in s.thread(release) if m.text.startswith("ci_green:"))
    assert ci == "ci_green: fail"
    assert f"Owner <!subteam^{sre.id}>: this gate failed" in s.thread_text(release)
    assert "Owner" not in next(m for m in s.thread(release) if m.text.startswith("not_locked:")).blocks[0]["text"][
        "text"]
    [verdict] = [d for d in await s.ledger(release.id) if d.evidence.get("gate") == "ci_green"]
    assert verdict.evidence["owner"] == "@sre"


async def test_bad_trust_commands_get_the_usage_and_change_nothing(s: Scenario) -> None:
    await s.command(CAROL, "trust dave")
    await s.command(CAROL, "trust revoke <@U0DAVE> api")
    await s.command(CAROL, "trust revoke <@U0DAVE> api qa")
    await s.command(CAROL, "trust revoke <@U0DAVE> api production")  # he has no right to lose
    said = s.ephemerals(CAROL)
    assert any("'dave' is not a Slack user; mention them" in t for t in said)
    assert any("expected `/deploy trust revoke @user SERVICE ENV`" in t for t in said)
    assert any("`api` has no environment `qa`" in t for t in said)
    assert any("<@U0DAVE> has no earned deploy right in api production to revoke" in t for t in said)
    assert await trust_rows(s) == []
    await s.command(CAROL, "trust")
    assert any("Nobody has paired on a release yet in api production (with @sre)" in t for t in s.ephemerals(CAROL))


@pytest.mark.parametrize("at_once", [False, True], ids=["after", "while-running"])
async def test_slack_retries_of_join_approve_and_revoke_act_once(s: Scenario, at_once: bool) -> None:
    await s.command(DAVE, "api v1.0.0 to production")
    first = (await s.releases())[-1]
    block_id, value = button(next(m for m in reversed(s.thread(first)) if any(
        e.get("action_id") == ActionId.JOIN_PAIR for b in m.blocks for e in b.get("elements", []))),
        ActionId.JOIN_PAIR)
    message = s.thread(first)[-1]
    await delivered_three_times(s, lambda: s.stack.slack.block_action(
        CAROL, message, action_id=ActionId.JOIN_PAIR, block_id=block_id, value=value), at_once=at_once)
    assert (await s.release(first.id or 0)).state == ReleaseState.SUCCEEDED
    await paired_release(s, "v1.0.1")
    post = proposal_post(s)
    block_id, value = button(post, ActionId.TRUST_APPROVE)
    await delivered_three_times(s, lambda: s.stack.slack.block_action(
        CAROL, post, action_id=ActionId.TRUST_APPROVE, block_id=block_id, value=value), at_once=at_once)
    await delivered_three_times(s, lambda: s.stack.slack.slash_command(
        BOB, "/deploy", "trust revoke <@U0DAVE> api production", channel="#api-releases"), at_once=at_once)
    assert await trust_rows(s) == [("pair", "joined", CAROL), ("pair", "joined", CAROL),
                                   ("trust", "proposed", "switchman"), ("trust", "granted", CAROL),
                                   ("trust", "revoked", BOB)]
    assert len([t for t in dms(s, DAVE) if "granted you the right" in t]) == 1
    assert len([m for m in channel_messages(s) if "revoked <@U0DAVE>'s right" in m.text]) == 1
