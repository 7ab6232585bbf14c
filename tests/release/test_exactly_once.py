"""Slack's retries (X-Slack-Retry-Num, the same body byte for byte) and simultaneous requests: each
/deploy, /rollback and release button acts once, through signed requests and the simulated Slack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.release.models import Approval, Lock, Release, ReleaseKind, ReleaseState
from bot.slack.ids import ActionId
from bot.slack_sim.interactions import Delivery
from tests.contracts.slack_contract import SlackContract
from tests.oncall.paging_scenario import channel_messages
from tests.release.scenario import SANDBOX, Scenario, delivered_three_times, release_config, scenario
from tests.release.test_rollback import Health, ship
from tests.release.test_rollback import config as verified_config

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"  # bob is a developer and in @sre; carol is in @sre
LOCK = 'lock api production --for 4h --reason "database maintenance"'


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as running:
        yield running


def button(s: Scenario, user: str, release: Release, action_id: str) -> Callable[[], Awaitable[Delivery]]:
    """Pressing `action_id` on the latest thread message of `release` that has it."""
    async def press() -> Delivery:
        for message in reversed(s.thread(release)):
            for block in message.blocks:
                for element in block.get("elements", []):
                    if element.get("action_id") == action_id:
                        return await s.stack.slack.block_action(user, message, action_id=action_id,
                                                                block_id=block.get("block_id"),
                                                                value=element.get("value"))
        raise AssertionError(f"no {action_id} button in the thread of release #{release.id}")

    return press


def command(s: Scenario, user: str, text: str, name: str = "/deploy") -> Callable[[], Awaitable[Delivery]]:
    return lambda: s.stack.slack.slash_command(user, name, text, channel="#api-releases")


async def locks(s: Scenario) -> list[Lock]:
    async with s.stack.ctx.db.session() as session:
        return list((await session.exec(select(Lock).order_by(col(Lock.id)))).all())


def posts(s: Scenario, marker: str) -> list[str]:
    return [m.text for m in channel_messages(s, "api-releases") if marker in m.text]


async def ledger_kinds(s: Scenario, release_id: int | None = None) -> list[str]:
    return [d.kind for d in await s.ledger(release_id)]


def replies(s: Scenario, release: Release, marker: str) -> list[str]:
    return [m.text for m in s.thread(release) if marker in m.text]


def answers(s: Scenario, user: str, text: str) -> list[str]:
    return [e for e in s.ephemerals(user) if text in e]


@pytest.mark.parametrize("at_once", [False, True], ids=["after", "at-once"])
async def test_a_retried_lock_makes_one_lock_one_ledger_row_and_one_post(s: Scenario, at_once: bool) -> None:
    await delivered_three_times(s, command(s, CAROL, LOCK), at_once=at_once)
    [lock] = await locks(s)
    assert (lock.holder, lock.released_at) == (CAROL, None)
    assert await ledger_kinds(s) == ["lock"]
    assert len(posts(s, ":lock:")) == 1
    said = answers(s, CAROL, "api production is locked until")
    assert said and len(set(said)) == 1  # a retry answers what the first delivery answered


async def test_a_retried_unlock_unlocks_once(s: Scenario) -> None:
    await s.command(CAROL, LOCK)
    await delivered_three_times(s, command(s, BOB, "unlock api production"), at_once=False)
    [lock] = await locks(s)
    assert lock.released_by == BOB
    assert await ledger_kinds(s) == ["lock", "unlock"]
    assert len(posts(s, ":unlock:")) == 1
    assert not answers(s, BOB, "is not locked")  # the retries are told it was unlocked, as the first was
    assert len(answers(s, BOB, "api production is unlocked")) == 3


async def test_two_locks_at_once_leave_one_active_lock_and_unlock_leaves_none(
        tmp_path: Path, slack_contract: SlackContract, database_url: str) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        database_url=database_url) as s:
        await asyncio.gather(command(s, CAROL, LOCK)(), command(s, BOB, 'lock api production --reason "load test"')())
        await s.stack.settle()
        all_locks = await locks(s)
        [active] = [lock for lock in all_locks if lock.released_at is None]
        [replaced] = [lock for lock in all_locks if lock.released_at is not None]
        assert replaced.released_by == active.holder  # the later one replaced the earlier one cleanly
        assert await ledger_kinds(s) == ["lock", "lock"]

        await s.command(ALICE, "unlock api production")
        assert all(lock.released_at is not None for lock in await locks(s))
        await s.command(ALICE, "unlock api production")
        assert answers(s, ALICE, "api production is not locked")


async def test_a_retried_approve_click_approves_once_and_posts_once(s: Scenario) -> None:
    await s.command(ALICE, "api v1.4.2 to staging")
    await s.command(BOB, "api v1.4.2 to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.AWAITING_APPROVAL

    await delivered_three_times(s, button(s, CAROL, release, ActionId.APPROVE), at_once=True)
    release = await s.release(release.id or 0)
    assert release.state == ReleaseState.SUCCEEDED
    async with s.stack.ctx.db.session() as session:
        assert len((await session.exec(select(Approval))).all()) == 1
    kinds = await ledger_kinds(s, release.id)
    assert kinds.count("approval") == 1 and kinds.count("outcome") == 1 and kinds.count("report") == 1
    assert len(replies(s, release, f"<@{CAROL}> approved release #{release.id}")) == 1
    await s.assert_ends_with_report(release.id or 0)


async def test_a_retried_cancel_cancels_once(s: Scenario) -> None:
    await s.command(ALICE, "api v1.4.2 to staging")
    await s.command(BOB, "api v1.4.2 to production")
    release = (await s.releases())[-1]
    await delivered_three_times(s, command(s, BOB, f"cancel {release.id}"), at_once=False)
    release = await s.release(release.id or 0)
    assert release.state == ReleaseState.CANCELLED
    assert (await ledger_kinds(s, release.id)).count("outcome") == 1
    assert len(replies(s, release, f"cancelled — cancelled by <@{BOB}>")) == 1
    assert (await ledger_kinds(s, release.id)).count("report") == 1
    await s.assert_ends_with_report(release.id or 0)
    assert len(answers(s, BOB, f"release #{release.id} is cancelled")) == 3
    assert not answers(s, BOB, "already ended")


async def test_a_retried_override_submission_overrides_once(s: Scenario) -> None:
    await s.command(ALICE, "api v2.0.0 to staging")
    await s.command(CAROL, LOCK)
    await s.command(ALICE, "api v2.0.0 to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.BLOCKED
    await s.press(CAROL, release, ActionId.OVERRIDE)
    modal: dict[str, Any] | None = [e.view for e in s.stack.workspace.events if e.kind == "view_open"][-1]
    assert modal is not None
    values = {"gates": {"gates": {"type": "checkboxes", "selected_options": [{"value": "not_locked"}]}},
              "reason": {"reason": {"type": "plain_text_input", "value": "the fix cannot wait"}}}
    await delivered_three_times(s, lambda: s.stack.slack.view_submission(CAROL, modal["id"], values), at_once=True)
    release = await s.release(release.id or 0)
    assert release.state == ReleaseState.AWAITING_APPROVAL
    assert len(replies(s, release, "*Special handling:*")) == 1
    assert (await ledger_kinds(s, release.id)).count("override") == 1


@pytest.mark.parametrize("at_once", [False, True], ids=["after", "at-once"])
async def test_a_retried_rollback_rolls_back_once(s: Scenario, at_once: bool) -> None:
    """At once, a copy used to find the twin's rollback in flight and cancel it as the release to stop."""
    await s.command(ALICE, "api v1.0.0 to staging")
    await s.command(ALICE, "api v1.1.0 to staging")
    await delivered_three_times(s, command(s, ALICE, 'api staging --reason "errors"', "/rollback"), at_once=at_once)
    rollbacks = [r for r in await s.releases() if r.kind == ReleaseKind.ROLLBACK]
    assert len(rollbacks) == 1 and rollbacks[0].state == ReleaseState.SUCCEEDED
    assert rollbacks[0].ref == "v1.0.0"
    assert len([r for r in s.ephemerals(ALICE) if f"Rollback #{rollbacks[0].id} of api staging started" in r]) == 3


@pytest.fixture
async def health() -> AsyncIterator[Health]:
    endpoint = Health()
    runner = await endpoint.start()
    yield endpoint
    await runner.cleanup()


async def test_a_retried_roll_back_click_starts_one_rollback(tmp_path: Path, slack_contract: SlackContract,
                                                             health: Health, database_url: str) -> None:
    """Copies of the click used to roll back twice, each rollback cancelling the one before."""
    async with scenario(tmp_path, slack_contract, config=verified_config(health.url, auto_rollback=False),
                        start=WEDNESDAY, database_url=database_url) as s:
        await ship(s, "v1.0.0")
        await s.command(ALICE, "api v1.1.0 to production")
        bad = (await s.releases())[-1]
        await s.press(CAROL, bad, ActionId.APPROVE)
        health.status = 503
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()
        assert (await s.release(bad.id or 0)).state == ReleaseState.PAUSED

        await delivered_three_times(s, button(s, ALICE, bad, ActionId.ROLL_BACK), at_once=True)
        health.status = 200
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()
        [rollback] = [r for r in await s.releases() if r.kind == ReleaseKind.ROLLBACK]
        assert (rollback.rollback_of, rollback.state) == (bad.id, ReleaseState.SUCCEEDED)
        assert (await s.release(bad.id or 0)).state == ReleaseState.ROLLED_BACK
        assert (await ledger_kinds(s, bad.id)).count("rollback_trigger") == 1


async def test_a_retried_abort_with_nothing_to_roll_back_to_stops_once(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=verified_config(health.url, auto_rollback=False),
                        start=WEDNESDAY) as s:
        await s.command(ALICE, "api v1.0.0 to production")
        release = (await s.releases())[-1]
        await s.press(CAROL, release, ActionId.APPROVE)
        health.status = 503
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()
        await delivered_three_times(s, button(s, ALICE, release, ActionId.ROLL_BACK), at_once=True)
        assert (await s.release(release.id or 0)).state == ReleaseState.FAILED
        assert len(replies(s, release, "There is no earlier verified release")) == 1
        assert (await ledger_kinds(s, release.id)).count("outcome") == 1
