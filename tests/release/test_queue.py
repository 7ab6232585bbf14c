"""The per-environment queue: strictly first in, first out, through signed requests on the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.release.models import EnvironmentState, Release, ReleaseState
from bot.slack.ids import ActionId
from bot.slack.release_blocks import short
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ALICE, BOB, CAROL, DAVE = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"  # carol approves (@sre)
BAKED = release_config(SANDBOX).replace('deployers: ["@api-devs"]', 'bake: 5m\n        deployers: ["@api-devs"]')


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as running:
        yield running


async def to_staging(s: Scenario, *refs: str) -> None:
    """Production requires each commit to have passed staging first."""
    for ref in refs:
        await s.command(ALICE, f"api {ref} to staging")
        assert (await s.releases())[-1].state == ReleaseState.SUCCEEDED


async def ship_in_turn(s: Scenario, *releases: Release) -> None:
    """Each release must be the one waiting for approval when its turn comes; approve it and let it ship."""
    for release in releases:
        waiting = await s.release(release.id or 0)
        in_flight = [r.id for r in await s.releases() if ReleaseState(r.state).in_flight]
        assert waiting.state == ReleaseState.AWAITING_APPROVAL, f"expected #{release.id} next, in flight: {in_flight}"
        await s.press(CAROL, waiting, ActionId.APPROVE)
        if (await s.release(release.id or 0)).state == ReleaseState.VERIFYING:
            await s.time.advance(timedelta(minutes=5))  # the bake
            await s.stack.settle()
        assert (await s.release(release.id or 0)).state == ReleaseState.SUCCEEDED


async def running_ref(s: Scenario) -> str | None:
    async with s.stack.ctx.db.session() as session:
        state = await session.get(EnvironmentState, ("api", "production"))
    return state.current_ref if state else None


async def test_cancelling_a_queued_release_keeps_the_order_of_the_others(s: Scenario) -> None:
    await to_staging(s, "v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0")
    await s.command(ALICE, "api v1.0.0 to production")
    await s.command(BOB, "api v1.1.0 to production")
    await s.command(DAVE, "api v1.2.0 to production")
    await s.command(BOB, "api v1.3.0 to production")
    first, second, third, fourth = (await s.releases())[-4:]

    assert (f"you are #3 in line behind #{first.id} `v1.0.0` (`{short(first.sha)}`) by <@{ALICE}> "
            f"(:raised_hand: awaiting approval), #{second.id} `v1.1.0`") in s.thread_text(third)

    await s.command(BOB, f"cancel {second.id}")  # queued: leaves the line
    assert (await s.release(second.id or 0)).state == ReleaseState.CANCELLED
    assert (await s.release(first.id or 0)).state == ReleaseState.AWAITING_APPROVAL  # still in flight
    await s.command(BOB, "status api")
    status = s.ephemerals(BOB)[-1]
    assert f"|#{first.id}> `v1.0.0` (`{short(first.sha)}`) by <@{ALICE}> — :raised_hand: awaiting approval" in status
    assert (f"queue: 2. <{third.detail['permalink']}|#{third.id}> `v1.2.0` (`{short(third.sha)}`) by <@{DAVE}> · "
            f"3. <{fourth.detail['permalink']}|#{fourth.id}> `v1.3.0` (`{short(fourth.sha)}`) by <@{BOB}>") in status
    await s.command(ALICE, f"cancel {first.id}")

    await ship_in_turn(s, third, fourth)
    assert await running_ref(s) == "v1.3.0"


async def test_a_pipeline_that_cannot_be_cancelled_does_not_hold_up_the_queue(tmp_path: Path,
                                                                             slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=BAKED, start=WEDNESDAY) as s:
        await to_staging(s, "v1.0.0", "v1.1.0", "v1.2.0")
        await s.command(ALICE, "api v1.0.0 to production")
        first = (await s.releases())[-1]
        await s.press(CAROL, first, ActionId.APPROVE)
        assert (await s.release(first.id or 0)).state == ReleaseState.VERIFYING  # baking; its run is known
        await s.command(BOB, "api v1.1.0 to production")
        second = (await s.releases())[-1]
        async with s.stack.ctx.db.session() as session:  # a run the CI system no longer knows
            row = await session.get(Release, first.id)
            assert row is not None
            row.provider_run_id = "gone"
            session.add(row)

        await s.command(ALICE, f"cancel {first.id}")
        first = await s.release(first.id or 0)
        assert first.state == ReleaseState.CANCELLED
        assert "Could not cancel its pipeline run" in s.thread_text(first)
        await s.command(DAVE, "api v1.2.0 to production")  # asked for after the cancel: goes behind #2
        third = (await s.releases())[-1]
        assert third.state == ReleaseState.QUEUED

        await ship_in_turn(s, second, third)
        assert await running_ref(s) == "v1.2.0"


async def test_a_queued_release_whose_commit_already_runs_is_skipped_as_superseded(s: Scenario) -> None:
    await to_staging(s, "v1.0.0", "v1.1.0")
    await s.command(ALICE, "api v1.0.0 to production")
    await s.command(BOB, "api v1.0.0 to production")  # the same commit, queued behind it
    await s.command(DAVE, "api v1.1.0 to production")
    first, same, newer = (await s.releases())[-3:]

    await ship_in_turn(s, first)
    same = await s.release(same.id or 0)
    assert same.state == ReleaseState.SUPERSEDED and same.started_at is None and same.finished_at is not None
    assert (f"superseded — its commit `{(same.sha or '')[:10]}` already runs in production (`v1.0.0`, "
            f"release #{first.id}); nothing left to deploy") in s.thread_text(same)
    assert "superseded" in s.parent(same).text  # the parent message says so too
    assert [(d.kind, d.outcome) for d in await s.ledger(same.id)] == [("outcome", "superseded")]
    assert await s.reports(same.id or 0) == []  # it never left the queue: nothing checked, nothing to report
    assert not any(r.release_id == same.id for r in s.stack.ctx.providers["sandbox"].reports)  # never deployed

    await ship_in_turn(s, newer)  # the next in line started by itself
    assert await running_ref(s) == "v1.1.0"
