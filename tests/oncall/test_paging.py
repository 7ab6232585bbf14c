"""Pages end to end: inbound over HTTP, DMs to the pair, shadow acks, escalation, dedup, resolve, restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.oncall import escalation, page_notify, paging
from bot.oncall.alerts import firing_alerts
from bot.oncall.models import PageStatus
from bot.oncall.roster import current_shift
from bot.outbox import queue as outbox
from bot.simulated_time import SimulatedTime
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.oncall.paging_scenario import (
    ENVIRON,
    PAGING_CONFIG,
    WEDNESDAY,
    alertmanager_payload,
    bearer,
    buttons,
    channel_messages,
    dms,
    notifications,
    pagerduty_event,
    pages,
    post,
    press,
    text_of,
)
from tests.oncall.schedule_scenario import advance
from tests.release.scenario import Scenario, scenario

LEAD, HEAD = "U01LEAD", "U01HEAD"


async def pair(s: Scenario, rotation: str = "api-oncall") -> tuple[str, str]:
    shift = await current_shift(s.stack.ctx, rotation, s.clock.now())
    assert shift is not None and shift.primary and shift.shadow
    return shift.primary, shift.shadow


async def test_an_alertmanager_alert_pages_the_pair_escalates_until_the_primary_acks_and_resolves(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        primary, shadow = await pair(s)
        status, answer = await post(s, "/webhooks/alertmanager", alertmanager_payload(), headers=bearer())
        assert status == 200 and answer["opened"] == [1]

        [page] = await pages(s)
        assert (page.rotation, page.source, page.status) == ("api-oncall", "alertmanager", PageStatus.TRIGGERED)
        assert (page.primary, page.shadow, page.service) == (primary, shadow, "api")
        assert page.dedup_key == 'group:{}:{alertname="HighErrorRate"}'  # one page per Alertmanager group
        assert page.notified_at == WEDNESDAY and page.shadow_note is None
        async with s.stack.ctx.db.session() as session:
            [alert] = await firing_alerts(session, service="api")
            assert await firing_alerts(session, service="web") == []
        assert alert.labels["alertname"] == "HighErrorRate" and alert.ends_at is None

        for person in (primary, shadow):
            [dm] = dms(s, person)
            assert "Page #1: HighErrorRate: 5xx above 5% for 10m" in text_of(dm)
            assert "https://wiki.example.com/runbooks/api" in text_of(dm)
            assert buttons(dm) == [ActionId.PAGE_ACK, ActionId.PAGE_RESOLVE]
        assert "You are the shadow" in text_of(dms(s, shadow)[0])
        [post_in_channel] = channel_messages(s, "api-oncall")
        assert "Page #1" in text_of(post_in_channel)

        # The shadow's ack is "seen": escalation goes on.
        await press(s, shadow, dms(s, shadow)[0], ActionId.PAGE_ACK)
        assert any("marked as seen" in t for t in s.ephemerals(shadow))
        [page] = await pages(s)
        assert (page.status, page.seen_by, page.seen_at) == (PageStatus.TRIGGERED, shadow, WEDNESDAY)

        await advance(s, timedelta(minutes=4, seconds=59))
        assert dms(s, LEAD) == []
        await advance(s, timedelta(seconds=1))
        [lead_dm] = dms(s, LEAD)
        assert "escalation level 1" in text_of(lead_dm)
        [page] = await pages(s)
        assert (page.escalation_level, page.escalated_to) == (1, [LEAD])
        [note] = s.stack.workspace.thread(post_in_channel.channel, post_in_channel.ts)
        assert "escalated to <@U01LEAD> (level 1)" in note.text

        # Alertmanager repeats the firing alert: the same page, nobody DMed again.
        status, answer = await post(s, "/webhooks/alertmanager", alertmanager_payload(), headers=bearer())
        assert status == 200 and answer["duplicates"] == [1] and answer["opened"] == []
        assert len(await pages(s)) == 1 and len(dms(s, primary)) == 1

        await press(s, primary, dms(s, primary)[0], ActionId.PAGE_ACK)
        assert any("escalation stopped" in t for t in s.ephemerals(primary))
        [page] = await pages(s)
        assert (page.status, page.acked_by) == (PageStatus.ACKNOWLEDGED, primary)
        for person in (primary, shadow, LEAD):
            assert buttons(dms(s, person)[0]) == [ActionId.PAGE_RESOLVE]
        await advance(s, timedelta(minutes=30))
        assert dms(s, HEAD) == []
        assert (await pages(s))[0].escalation_level == 1

        status, answer = await post(s, "/webhooks/alertmanager", alertmanager_payload(status="resolved"),
                                    headers=bearer())
        assert status == 200 and answer["resolved"] == [1]
        [page] = await pages(s)
        assert (page.status, page.resolved_by) == (PageStatus.RESOLVED, "alertmanager")
        assert all(buttons(m) == [] for m in [*dms(s, primary), *dms(s, shadow), *dms(s, LEAD), post_in_channel])
        assert "resolved by alertmanager" in text_of(dms(s, primary)[0])
        async with s.stack.ctx.db.session() as session:
            assert await firing_alerts(session, service="api") == []

        # It fires again later: a new page, as the old one is closed.
        status, answer = await post(s, "/webhooks/alertmanager", alertmanager_payload(), headers=bearer())
        assert answer["opened"] == [2]


async def test_escalation_walks_every_level_then_stops_and_escalation_targets_may_ack(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        primary, _ = await pair(s)
        await post(s, "/webhooks/events", pagerduty_event())
        await advance(s, timedelta(minutes=5))
        assert len(dms(s, LEAD)) == 1 and dms(s, HEAD) == []
        await advance(s, timedelta(minutes=5))
        assert len(dms(s, HEAD)) == 1
        await advance(s, timedelta(hours=2))
        [page] = await pages(s)
        assert (page.escalation_level, page.escalated_to, page.next_escalation_at) == (2, [LEAD, HEAD], None)
        assert len(dms(s, LEAD)) == 1 and len(dms(s, HEAD)) == 1
        assert s.stack.ctx.scheduler.jobs() == [] or all(not j.id.startswith("page-") for j in
                                                         s.stack.ctx.scheduler.jobs())

        await s.command("U0ALICE", "ack 1", command="/oncall")
        assert any("only" in t and "can acknowledge page #1" in t for t in s.ephemerals("U0ALICE"))
        await s.command(LEAD, "ack 1", command="/oncall")
        assert any("you acknowledged page #1" in t for t in s.ephemerals(LEAD))
        await s.command(primary, "ack #1", command="/oncall")
        assert any("already acknowledged by <@U01LEAD>" in t for t in s.ephemerals(primary))
        assert (await pages(s))[0].acked_by == LEAD


async def test_pagerduty_events_trigger_dedupe_acknowledge_and_resolve(tmp_path: Path,
                                                                       slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        primary, shadow = await pair(s)
        status, answer = await post(s, "/webhooks/events", pagerduty_event())
        assert (status, answer) == (202, {"status": "success", "message": "Event processed",
                                          "dedup_key": "db-disk-full"})
        status, again = await post(s, "/webhooks/events", pagerduty_event())
        assert (status, again["dedup_key"]) == (202, "db-disk-full")
        [page] = await pages(s)
        assert (page.source, page.title, page.service, page.details["severity"]) == (
            "events", "Disk on db-1 is 95% full", "api", "error")
        assert len(dms(s, primary)) == 1 and len(dms(s, shadow)) == 1
        assert "Disk dashboard" in text_of(dms(s, primary)[0])

        status, generated = await post(s, "/webhooks/events", pagerduty_event(dedup_key=None))
        assert status == 202 and len(generated["dedup_key"]) == 32
        assert [p.dedup_key for p in await pages(s)] == ["db-disk-full", generated["dedup_key"]]

        status, _ = await post(s, "/webhooks/events", pagerduty_event("acknowledge"))
        assert status == 202
        first = (await pages(s))[0]
        assert (first.status, first.acked_by) == (PageStatus.ACKNOWLEDGED, "events-api")
        await advance(s, timedelta(minutes=5))
        assert [len(dms(s, LEAD))] == [1]  # only the second, unacked page escalated
        assert (await pages(s))[0].escalation_level == 0

        status, _ = await post(s, "/webhooks/events", pagerduty_event("resolve"))
        assert status == 202
        assert (await pages(s))[0].status == PageStatus.RESOLVED
        status, answer = await post(s, "/webhooks/events", pagerduty_event("resolve", dedup_key="never-seen"))
        assert (status, answer["dedup_key"]) == (202, "never-seen")


async def test_a_shadow_is_paged_only_in_their_own_business_hours(tmp_path: Path,
                                                                  slack_contract: SlackContract) -> None:
    # 14:30 UTC on a Wednesday: 15:30 in Berlin (the rotation's zone) but 20:00 in Kolkata.
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY.replace(hour=14, minute=30),
                        environ=ENVIRON) as s:
        primary, shadow = await pair(s)
        s.stack.workspace.users[shadow].tz = "Asia/Kolkata"
        await post(s, "/webhooks/events", pagerduty_event())
        [page] = await pages(s)
        assert page.shadow == shadow
        assert page.shadow_note is not None and "Wed 20:00 in Asia/Kolkata" in page.shadow_note
        assert dms(s, shadow) == [] and len(dms(s, primary)) == 1
        assert "not paged" in text_of(dms(s, primary)[0])
        assert {n.role for n in await notifications(s)} == {"primary", "channel"}

        # In Berlin it is 15:30: a shadow there is paged.
        s.stack.workspace.users[shadow].tz = "Europe/Berlin"
        s.stack.ctx.directory._zones.clear()
        await post(s, "/webhooks/events", pagerduty_event(dedup_key="second"))
        assert len(dms(s, shadow)) == 1


async def test_slash_commands_page_ack_and_resolve(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        primary, shadow = await pair(s)
        await s.command("U0ALICE", 'page nosuch "db is down"', command="/oncall")
        assert any("'nosuch' is not a rotation" in t and "`api-oncall`, `web-oncall`" in t
                   for t in s.ephemerals("U0ALICE"))
        assert await pages(s) == []

        await s.command("U0ALICE", 'page api-oncall "checkout returns 500s"', command="/oncall")
        assert any(f"page #1 opened in `api-oncall`: paged <@{primary}> (primary) and <@{shadow}> (shadow)" in t
                   for t in s.ephemerals("U0ALICE"))
        [page] = await pages(s)
        assert (page.source, page.title, page.opened_by) == ("slack", "checkout returns 500s", "U0ALICE")
        assert len(dms(s, primary)) == 1

        await s.command(shadow, "ack 1", command="/oncall")
        await s.command(shadow, "ack 1", command="/oncall")
        assert any("already marked page #1 as seen" in t for t in s.ephemerals(shadow))
        await s.command("U0BOB", "resolve 1", command="/oncall")
        assert any("can resolve page #1" in t for t in s.ephemerals("U0BOB"))
        await s.command("U0ALICE", "ack 99", command="/oncall")
        assert any("page #99 does not exist" in t for t in s.ephemerals("U0ALICE"))

        # The Ack button on the channel post works for the primary too.
        [post_in_channel] = channel_messages(s, "api-oncall")
        await press(s, primary, post_in_channel, ActionId.PAGE_ACK)
        assert (await pages(s))[0].status == PageStatus.ACKNOWLEDGED
        await s.command("U0ALICE", "resolve 1", command="/oncall")  # who raised it may close it
        assert any("you resolved page #1" in t for t in s.ephemerals("U0ALICE"))
        [page] = await pages(s)
        assert (page.status, page.resolved_by) == (PageStatus.RESOLVED, "U0ALICE")
        assert buttons(channel_messages(s, "api-oncall")[0]) == []


async def test_escalation_and_unsent_messages_survive_a_restart(tmp_path: Path, slack_contract: SlackContract,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    time = SimulatedTime(WEDNESDAY)
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, time=time, environ=ENVIRON) as s:
        primary, shadow = await pair(s)
        # Start-up's own look at the outbox must be over first: on a busy machine it could otherwise run
        # after the page is committed and send its messages (1 run in 5 did under load).
        await s.stack.settle()
        # The process dies after the page and its messages are committed, before the outbox sends any.
        monkeypatch.setattr(s.stack.ctx.outbox, "wake", lambda: None)
        await post(s, "/webhooks/events", pagerduty_event())
        assert dms(s, primary) == [] and dms(s, shadow) == [] and channel_messages(s, "api-oncall") == []
        assert (await pages(s))[0].notified_at == WEDNESDAY
        async with s.stack.ctx.db.session() as session:
            assert len(await outbox.unsent(session)) == 3  # two DMs and the channel post
        await advance(s, timedelta(minutes=2))
    # A new process on the same database: its scheduler starts empty and is planned from the pages table,
    # and its outbox sends what the last one queued.
    later = SimulatedTime(time.now())
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, time=later, environ=ENVIRON) as s:
        [job] = [j for j in s.stack.ctx.scheduler.jobs() if j.id == "page-escalate-1"]
        assert job.at == WEDNESDAY + timedelta(minutes=5) and job.kwargs == {"page_id": 1, "level": 1}
        await advance(s, timedelta(0))
        assert len(dms(s, primary)) == 1 and len(dms(s, shadow)) == 1
        assert len(channel_messages(s, "api-oncall")) == 1
        assert {n.role for n in await notifications(s)} == {"primary", "shadow", "channel"}
        await advance(s, timedelta(minutes=3))
        assert len(dms(s, LEAD)) == 1
        assert (await pages(s))[0].escalation_level == 1
        # Planning again and a repeated job (a second replica taking over) page nobody twice.
        await escalation.plan_jobs(s.stack.ctx)
        await escalation.escalate(s.stack.ctx, page_id=1, level=1)
        await advance(s, timedelta(minutes=5))
        assert len(dms(s, LEAD)) == 1 and len(dms(s, HEAD)) == 1


async def test_a_page_whose_messages_were_never_queued_is_notified_after_a_restart(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    time = SimulatedTime(WEDNESDAY)
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, time=time, environ=ENVIRON) as s:
        primary, shadow = await pair(s)
        with pytest.MonkeyPatch.context() as patch:  # the process dies right after the webhook stored the page
            patch.setattr(page_notify, "notify_opened", _never)
            await post(s, "/webhooks/events", pagerduty_event())
        assert (await pages(s))[0].notified_at is None and dms(s, primary) == []
    later = SimulatedTime(time.now() + timedelta(minutes=1))
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, time=later, environ=ENVIRON) as s:
        await advance(s, timedelta(0))  # the started scheduler runs what planning found due
        assert len(dms(s, primary)) == 1 and len(dms(s, shadow)) == 1
        assert (await pages(s))[0].notified_at == later.now()
        await escalation.plan_jobs(s.stack.ctx)  # planning again notifies nobody twice
        await advance(s, timedelta(0))
        assert len(dms(s, primary)) == 1 and len(channel_messages(s, "api-oncall")) == 1


async def _never(*_: object) -> None:
    return None


async def test_a_page_opened_while_nobody_is_primary_goes_straight_to_escalation(
        tmp_path: Path, slack_contract: SlackContract, monkeypatch: pytest.MonkeyPatch) -> None:
    async def nobody(*_: object) -> None:
        return None

    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        monkeypatch.setattr(paging, "current_shift", nobody)
        await post(s, "/webhooks/events", pagerduty_event())
        [page] = await pages(s)
        assert page.primary is None and page.next_escalation_at == WEDNESDAY
        await advance(s, timedelta(seconds=1))
        assert len(dms(s, LEAD)) == 1
