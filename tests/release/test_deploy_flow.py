"""/deploy end to end on the sandbox provider, through signed requests and the simulated Slack."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ledger import service as ledger
from bot.release.models import ReleaseState
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"  # bob is a developer and in @sre; carol is in @sre


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as running:
        yield running


async def promote_to_staging(s: Scenario, ref: str) -> None:
    await s.command(ALICE, f"api {ref} to staging")
    assert (await s.releases())[-1].state == ReleaseState.SUCCEEDED


async def test_a_release_waits_for_approval_refuses_self_approval_and_ships(s: Scenario) -> None:
    await promote_to_staging(s, "v1.4.2")
    await s.command(BOB, "api v1.4.2 to production --reason \"weekly release\"")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.AWAITING_APPROVAL
    thread = s.thread_text(release)
    for gate in ("ci_green", "not_locked", "no_concurrent_deploy", "promoted_from", "freeze_window",
                 "oncall_present", "approval"):
        assert f"*{gate}*" in thread
    assert "*WAITING* — needs 1 more approval from @sre" in thread

    await s.press(BOB, release, ActionId.APPROVE)  # bob asked for it: refused, though he is in @sre
    assert any("you requested release #2, so you cannot approve it" in t for t in s.ephemerals(BOB))
    assert (await s.release(2)).state == ReleaseState.AWAITING_APPROVAL

    await s.press(CAROL, release, ActionId.APPROVE)
    await s.press(CAROL, release, ActionId.APPROVE)  # a double click counts once
    release = await s.release(2)
    assert release.state == ReleaseState.SUCCEEDED
    assert "succeeded" in s.parent(release).text
    kinds = [(d.kind, d.outcome) for d in await s.ledger(2)]
    assert kinds[0] == ("risk", "medium")  # assessed at the preview: the requester's first release there
    kinds = kinds[1:]
    assert kinds[:8] == [("gate_verdict", k) for _, k in kinds[:8]]  # the 7 configured gates + quarantine
    assert kinds[8:] == [("decision", "WAITING"), ("approval", "approved"), ("decision", "GO"),
                         ("stage_result", "succeeded"), ("outcome", "succeeded"), ("report", "succeeded")]
    report = await s.assert_ends_with_report(2)
    assert "approved" in report.text and "Decision: *GO* (by <@U0CAROL>)" in report.text
    assert all(await s.permalinks(2))  # every decision links to the thread message that shows it
    async with s.stack.ctx.db.session() as session:
        assert (await ledger.verify(session)).ok


async def test_failing_ci_is_no_go_with_the_reason_in_the_thread(s: Scenario) -> None:
    await s.command(ALICE, "api hotfix-fail to staging")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.BLOCKED
    thread = s.thread_text(release)
    assert ":x: *ci_green* — fail" in thread and "unit-tests failed" in thread
    assert "*NO-GO* — blocked by `ci_green`" in thread
    report = (await s.assert_ends_with_report(release.id or 0)).data
    assert {g["gate"]: g["verdict"] for g in report["gates"]}["ci_green"] == "fail"
    assert (report["decided"], report["stages"]) == ("NO-GO", [])


async def test_an_unpromoted_commit_is_no_go(s: Scenario) -> None:
    await s.command(ALICE, "api v9.9.9 to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.BLOCKED
    assert "has not passed verification in staging" in s.thread_text(release)
    await s.assert_ends_with_report(release.id or 0)


async def test_a_lock_blocks_and_an_override_with_a_reason_lets_it_through(s: Scenario) -> None:
    await promote_to_staging(s, "v2.0.0")
    await s.command(CAROL, 'lock api production --for 4h --reason "database maintenance"')
    await s.command(ALICE, "api v2.0.0 to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.BLOCKED
    assert "locked by <@U0CAROL>" in s.thread_text(release) and "database maintenance" in s.thread_text(release)

    await s.press(ALICE, release, ActionId.OVERRIDE)  # alice is no overrider, but the modal opens for anyone…
    [modal] = [e.view for e in s.stack.workspace.events if e.kind == "view_open"]
    assert modal is not None
    submit = await s.stack.slack.view_submission(ALICE, modal["id"], {
        "gates": {"gates": {"type": "checkboxes", "selected_options": [{"value": "not_locked"}]}},
        "reason": {"reason": {"type": "plain_text_input", "value": "hotfix for the outage"}}})
    await s.stack.settle()
    assert submit.status == 200
    assert (await s.release(release.id or 0)).state == ReleaseState.BLOCKED  # …and refuses her submission

    await s.press(CAROL, release, ActionId.OVERRIDE)
    modal = [e.view for e in s.stack.workspace.events if e.kind == "view_open"][-1]
    assert modal is not None
    await s.stack.slack.view_submission(CAROL, modal["id"], {
        "gates": {"gates": {"type": "checkboxes", "selected_options": [{"value": "not_locked"}]}},
        "reason": {"reason": {"type": "plain_text_input", "value": "the fix for the outage cannot wait"}}})
    await s.stack.settle()
    release = await s.release(release.id or 0)
    assert release.state == ReleaseState.AWAITING_APPROVAL  # still needs its approval
    assert "*Special handling:* <@U0CAROL> overrode `not_locked`" in s.thread_text(release)
    await s.press(BOB, release, ActionId.APPROVE)
    assert (await s.release(release.id or 0)).state == ReleaseState.SUCCEEDED
    overrides = [d for d in await s.ledger(release.id) if d.kind == "override"]
    assert overrides[0].evidence["special_handling"] is True
    assert overrides[0].evidence["reason"] == "the fix for the outage cannot wait"
    # Reported when blocked, and again once it shipped; the last report marks the override and follows it up.
    assert [r.state for r in await s.reports(release.id or 0)] == ["blocked", "succeeded"]
    report = (await s.assert_ends_with_report(release.id or 0)).data
    [locked] = [g for g in report["gates"] if g["gate"] == "not_locked"]
    assert (locked["verdict"], locked["overridden_by"]) == ("fail", CAROL)
    assert report["scope"]["risk"] == "high" and "a gate was overridden" in report["scope"]["risk_reasons"]
    assert any("`not_locked` (fail) was overridden by <@U0CAROL>: the fix for the outage cannot wait" in f
               for f in report["follow_ups"])


@pytest.mark.parametrize(("instant", "frozen"), [
    (datetime(2026, 3, 28, 12, 0, tzinfo=UTC), True),  # Saturday: inside the weekend freeze
    (datetime(2026, 3, 30, 5, 45, tzinfo=UTC), True),  # Monday 07:45 CEST, after the change to summer time
    (datetime(2026, 3, 30, 6, 0, tzinfo=UTC), False),  # Monday 08:00 CEST: the freeze has ended…
    (datetime(2026, 3, 23, 6, 30, tzinfo=UTC), True),  # …though a week earlier (CET) 06:30 UTC was 07:30
])
async def test_the_freeze_window_follows_berlin_time_across_the_dst_change(
        tmp_path: Path, slack_contract: SlackContract, instant: datetime, frozen: bool) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=instant) as s:
        await promote_to_staging(s, "v3.0.0")
        await s.command(ALICE, "api v3.0.0 to production")
        release = (await s.releases())[-1]
        thread = s.thread_text(release)
        assert (":x: *freeze_window* — fail" in thread) is frozen
        assert ("`freeze_window`" in thread and "NO-GO" in thread) is frozen


async def test_a_busy_environment_queues_and_the_queue_moves_by_itself(s: Scenario) -> None:
    await promote_to_staging(s, "v4.0.0")
    await s.command(ALICE, "api v4.0.0 to production")  # waits for approval: holds production
    await s.command(BOB, "api v4.0.0 to production")
    first, second = (await s.releases())[-2:]
    assert (first.state, second.state) == (ReleaseState.AWAITING_APPROVAL, ReleaseState.QUEUED)
    assert any("#2 in line, behind <@U0ALICE>" in t for t in s.ephemerals(BOB))
    assert "you are #2 in line" in s.thread_text(second)

    await s.press(CAROL, first, ActionId.REJECT)
    assert (await s.release(first.id or 0)).state == ReleaseState.REJECTED
    assert (await s.release(second.id or 0)).state == ReleaseState.AWAITING_APPROVAL  # started by itself
    assert "production is free; release #" in s.thread_text(second)
    assert (await s.assert_ends_with_report(first.id or 0)).data["approvals"][0]["approved"] is False


async def test_three_simultaneous_requests_start_one_release_and_queue_two_in_order(s: Scenario) -> None:
    await promote_to_staging(s, "v5.0.0")
    await asyncio.gather(*(s.stack.slack.slash_command(user, "/deploy", "api v5.0.0 to production",
                                                       channel="#api-releases") for user in (ALICE, BOB, "U0DAVE")))
    await s.stack.settle()
    production = [r for r in await s.releases() if r.environment == "production"]
    assert len(production) == 3
    states = [r.state for r in production]
    assert states.count(ReleaseState.AWAITING_APPROVAL) == 1 and states.count(ReleaseState.QUEUED) == 2
    queued = [r for r in production if r.state == ReleaseState.QUEUED]
    assert [r.detail["queued_behind"] for r in queued] == [production[0].id, queued[0].id]


async def test_a_replayed_slash_command_creates_nothing_new(s: Scenario) -> None:
    await s.command(ALICE, "api v6.0.0 to staging")
    replay = await s.stack.slack.replay(retry_num=1)
    await s.stack.settle()
    assert replay.status == 200
    assert len(await s.releases()) == 1
    parents = [m for m in s.stack.workspace.messages.values() if m.thread_ts is None]
    assert len(parents) == 1  # no second thread was opened


async def test_unknown_service_environment_or_ref_explain_the_choices(s: Scenario) -> None:
    unknown_service = await s.command(ALICE, "apu v1 to production")
    unknown_env = await s.command(ALICE, "api v1 to prod")
    assert "there is no service `apu` — did you mean `api`? (services: `api`)" in unknown_service.json()["text"]
    assert "did you mean `production`? (its environments: `staging`, `production`)" in unknown_env.json()["text"]
    await s.command(ALICE, "api missing-tag to staging")
    assert any("I could not find `missing-tag`" in t for t in s.ephemerals(ALICE))
    await s.command("U0CAROL", "api v1 to production")  # carol is not in @api-devs
    assert any("you are not allowed to deploy to production" in t for t in s.ephemerals("U0CAROL"))
    assert await s.releases() == []
