"""/deploy status, why, history and cancel; the change preview; a gate that times out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.release.models import Release, ReleaseState
from bot.slack.release_blocks import short
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX),
                        start=datetime(2026, 11, 18, 10, tzinfo=UTC)) as running:
        yield running


def last_ephemeral(s: Scenario, user: str) -> str:
    return s.ephemerals(user)[-1]


def link(release: Release) -> str:
    return f"<{release.detail['permalink']}|#{release.id}>"


async def test_status_why_and_history_tell_what_runs_what_waits_and_who_locked(s: Scenario) -> None:
    await s.command(ALICE, "api v1.0.0 to staging")
    await s.command(ALICE, "api v1.0.0 to production")  # waits for approval
    await s.command(BOB, "api v1.0.0 to production")  # queued behind it
    await s.command(CAROL, 'lock api staging --for 1h --reason "load test"')

    staging, in_flight, queued = await s.releases()
    sha = short(staging.sha)

    await s.command(BOB, "status api")
    status = last_ephemeral(s, BOB)
    assert f"*staging*: runs `v1.0.0` (`{sha}`, release #{staging.id})" in status
    assert ":lock: locked by <@U0CAROL>" in status and "load test" in status
    assert "*production*: nothing deployed through Switchman yet" in status
    assert (f"in flight: {link(in_flight)} `v1.0.0` (`{sha}`) by <@U0ALICE> — :raised_hand: awaiting approval"
            in status)
    assert f"queue: 2. {link(queued)} `v1.0.0` (`{sha}`) by <@U0BOB>" in status

    await s.command(BOB, "why api production")
    why = last_ephemeral(s, BOB)
    assert "*What blocks api production:*" in why
    assert f":truck: {link(in_flight)} `v1.0.0` (`{sha}`) by <@U0ALICE> is in flight" in why
    assert ":raised_hand: waiting: needs 1 more approval from @sre" in why
    assert f":clock3: 1 release(s) queued: 2. {link(queued)} `v1.0.0` (`{sha}`) by <@U0BOB>" in why

    await s.command(BOB, "why api staging")
    assert ":lock: locked by <@U0CAROL>" in last_ephemeral(s, BOB)

    await s.command(BOB, "history api production")
    history = last_ephemeral(s, BOB)
    assert history.startswith("*Recent releases of api to production:*")
    assert history.count("\n• ") == 2


async def test_cancelling_the_release_in_flight_starts_the_next_in_line(s: Scenario) -> None:
    await s.command(ALICE, "api v1.0.0 to staging")
    await s.command(ALICE, "api v1.0.0 to production")
    await s.command(BOB, "api v1.0.0 to production")
    first, second = (await s.releases())[-2:]

    await s.command("U01OPS1", f"cancel {first.id}")  # neither the requester, a deployer nor an overrider
    assert "only the requester (<@U0ALICE>)" in last_ephemeral(s, "U01OPS1")
    await s.command(ALICE, f"cancel #{first.id}")

    assert (await s.release(first.id or 0)).state == ReleaseState.CANCELLED
    assert (await s.release(second.id or 0)).state == ReleaseState.AWAITING_APPROVAL
    assert "cancelled by <@U0ALICE>" in s.thread_text(await s.release(first.id or 0))
    assert [d.kind for d in await s.ledger(first.id)][-2:] == ["outcome", "report"]
    await s.assert_ends_with_report(first.id or 0)
    await s.command(ALICE, f"cancel {first.id}")
    assert "already ended" in last_ephemeral(s, ALICE)


async def test_unlock_frees_the_environment_and_is_recorded(s: Scenario) -> None:
    await s.command(CAROL, 'lock api staging --reason "freeze for the demo"')
    await s.command(ALICE, "unlock api staging")
    await s.command(ALICE, "unlock api staging")
    assert "is not locked" in last_ephemeral(s, ALICE)
    kinds = [(d.kind, d.actor) for d in await s.ledger()]
    assert kinds == [("lock", CAROL), ("unlock", ALICE)]
    await s.command(ALICE, "api v1.0.0 to staging")
    assert (await s.releases())[-1].state == ReleaseState.SUCCEEDED


async def test_the_change_preview_lists_commits_since_what_runs_now(s: Scenario) -> None:
    await s.command(ALICE, "api v1.0.0 to staging")
    await s.command(ALICE, "api v1.1.0-migration to staging")
    release = (await s.releases())[-1]
    thread = s.thread_text(release)
    assert "*Change preview:*" in thread and "(running now)" in thread
    assert "Change 1 of" in thread
    assert ":warning: *Database migrations in this change:* `migrations/0042_add_index.sql`" in thread


async def test_a_gate_that_does_not_answer_in_time_is_an_error_never_a_pass(tmp_path: Path,
                                                                            slack_contract: SlackContract) -> None:
    config = release_config(SANDBOX).replace("gates: [ci_green, not_locked, no_concurrent_deploy]",
                                              "gates: [{ci_green: {timeout: 1s}}, not_locked]")
    async with scenario(tmp_path, slack_contract, config=config, start=datetime(2026, 11, 18, 10, tzinfo=UTC)) as s:
        await s.command(ALICE, "api v2.0.0-pending to staging")  # the sandbox keeps its CI pending
        release = (await s.releases())[-1]
        thread = s.thread_text(release)
        assert ":boom: *ci_green* — error" in thread and "no answer within 1s (gate timeout)" in thread
        assert release.state == ReleaseState.BLOCKED
