"""Heartbeats on simulated time: a silent heartbeat pages its rotation once, the page resolves
when it checks in again, and the watch survives a restart. Pings come over HTTP (NAME/SECRET)
or as Alertmanager's always-firing Watchdog alert."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config.loader import ConfigError, parse_config
from bot.oncall import heartbeats
from bot.oncall.models import PageStatus
from bot.outbox.models import OutboxKind, OutboxMessage
from bot.simulated_time import SimulatedTime
from tests.contracts.slack_contract import SlackContract
from tests.oncall.alertmanager_bed import ROUTE, fire, until, webhook_receiver
from tests.oncall.paging_scenario import (
    ENVIRON,
    PAGING_CONFIG,
    SECRET,
    WEDNESDAY,
    alertmanager_payload,
    bearer,
    dms,
    get_metrics,
    pages,
    post,
    text_of,
)
from tests.oncall.schedule_scenario import advance
from tests.release.scenario import Scenario, scenario
from tests.support.monitoring_servers import alertmanager_with

BEAT_SECRET = "hb-" + "0123456789abcdef" * 2
CONFIG = PAGING_CONFIG.replace(
    "    routing_keys: [R0123",
    "    heartbeats: {watchdog: {every: 5m, secret_env: WATCHDOG_SECRET}}\n    routing_keys: [R0123")
BEAT_ENV = {**ENVIRON, "WATCHDOG_SECRET": BEAT_SECRET}
PING = f"/webhooks/heartbeat/watchdog/{BEAT_SECRET}"


async def ping(s: Scenario) -> None:
    status, answer = await post(s, PING, {})
    assert (status, answer) == (200, {"status": "success", "heartbeat": "watchdog"})


async def silence_pages(s: Scenario) -> list[PageStatus]:
    return [PageStatus(p.status) for p in await pages(s) if p.source == "heartbeat"]


async def test_a_silent_heartbeat_pages_once_resolves_when_it_returns_and_survives_a_restart(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    time = SimulatedTime(WEDNESDAY)
    async with scenario(tmp_path, slack_contract, config=CONFIG, time=time, environ=BEAT_ENV) as s:
        await ping(s)
        await advance(s, timedelta(minutes=4))
        await ping(s)  # checked in at 10:04: next due 10:09
        await advance(s, timedelta(minutes=4, seconds=59))
        assert await pages(s) == []

        await advance(s, timedelta(seconds=1))
        [page] = await pages(s)
        assert (page.rotation, page.source, page.dedup_key, page.status) == (
            "api-oncall", "heartbeat", "heartbeat:watchdog", PageStatus.TRIGGERED)
        assert page.title == ("monitoring has gone silent: heartbeat watchdog, last seen 2026-11-18 10:04:00 UTC "
                              "(expected every 5m)")
        primary, shadow = page.primary or "", page.shadow or ""
        assert "monitoring has gone silent" in text_of(dms(s, primary)[0])

        # Checked again and again (an hour passes, a second replica checks too): still one page.
        await advance(s, timedelta(hours=1))
        await heartbeats.check(s.stack.ctx, rotation="api-oncall", name="watchdog")
        assert await silence_pages(s) == [PageStatus.TRIGGERED]
        assert len(dms(s, primary)) == 1

        assert shadow

    # A new process on the same database (and a fresh fake Slack): the watch is planned again from
    # the table, the page stays open, nobody is paged again.
    later = SimulatedTime(time.now() + timedelta(minutes=10))
    async with scenario(tmp_path, slack_contract, config=CONFIG, time=later, environ=BEAT_ENV) as s:
        assert [j.id for j in s.stack.ctx.scheduler.jobs() if j.id.startswith("heartbeat-")] == [
            "heartbeat-api-oncall-watchdog"]
        await advance(s, timedelta(minutes=1))
        assert await silence_pages(s) == [PageStatus.TRIGGERED]
        assert dms(s, primary) == []

        await ping(s)  # monitoring is back
        [page] = await pages(s)
        assert (page.status, page.resolved_by) == (PageStatus.RESOLVED, "heartbeat watchdog")
        async with s.stack.ctx.db.session() as session:
            edits = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.UPDATE))).all()
        # Every message of the page (the pair's, the escalation targets' of that hour, the channel's) is
        # edited; this fake Slack never saw the first process's messages, so only their queueing is checked.
        assert {e.target for e in edits} == {f"page:1:dm:{u}" for u in (primary, shadow, "U01LEAD", "U01HEAD")} | {
            "page:1:channel"}
        latest = {e.target: e.text for e in sorted(edits, key=lambda e: e.id or 0)}
        assert all("resolved by heartbeat watchdog" in text for text in latest.values())

        await advance(s, timedelta(minutes=4, seconds=59))
        assert await silence_pages(s) == [PageStatus.RESOLVED]
        await advance(s, timedelta(seconds=1))  # silent again: a new page
        assert await silence_pages(s) == [PageStatus.RESOLVED, PageStatus.TRIGGERED]


async def test_a_heartbeat_never_pinged_is_due_one_period_after_switchman_first_saw_it(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=CONFIG, start=WEDNESDAY, environ=BEAT_ENV) as s:
        await advance(s, timedelta(minutes=4, seconds=59))
        assert await pages(s) == []
        await advance(s, timedelta(seconds=1))
        assert await silence_pages(s) == [PageStatus.TRIGGERED]


async def test_alertmanagers_watchdog_alert_routed_to_the_rotation_is_a_ping_and_pages_nobody(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    watchdog = {"alertname": "Watchdog", "severity": "none", "rotation": "api-oncall", "service": ""}
    async with scenario(tmp_path, slack_contract, config=CONFIG, start=WEDNESDAY, environ=BEAT_ENV) as s:
        await advance(s, timedelta(minutes=6))
        assert await silence_pages(s) == [PageStatus.TRIGGERED]

        status, answer = await post(s, "/webhooks/alertmanager", alertmanager_payload(
            fingerprint="0123456789abcdef", labels=watchdog, group_key='{}:{alertname="Watchdog"}'), headers=bearer())
        assert status == 200
        assert answer["routes"] == {"0123456789abcdef": ["heartbeat:api-oncall/watchdog"]}
        assert answer["resolved"] == [1] and answer["opened"] == []
        assert await silence_pages(s) == [PageStatus.RESOLVED]
        assert len(await pages(s)) == 1  # the Watchdog alert itself pages nobody

        await advance(s, timedelta(minutes=4))
        await post(s, "/webhooks/alertmanager", alertmanager_payload(
            fingerprint="0123456789abcdef", labels=watchdog, group_key='{}:{alertname="Watchdog"}'), headers=bearer())
        await advance(s, timedelta(minutes=4))
        assert len(await pages(s)) == 1


async def test_a_real_alertmanagers_watchdog_brings_a_silent_heartbeat_back(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=CONFIG, start=WEDNESDAY, environ=BEAT_ENV) as s:
        await advance(s, timedelta(minutes=6))
        assert await silence_pages(s) == [PageStatus.TRIGGERED]
        config = (f"route: {{receiver: switchman, group_by: [alertname], {ROUTE}}}\n"
                  "receivers:\n" + webhook_receiver(s, SECRET))
        async with alertmanager_with(tmp_path, config) as am:
            await fire(am.url, {"alertname": "Watchdog", "severity": "none", "rotation": "api-oncall"})

            async def back() -> bool:
                return await silence_pages(s) == [PageStatus.RESOLVED]
            await until(s, back, "the Watchdog alert resolved the silence page")
        assert len(await pages(s)) == 1  # the Watchdog alert pages nobody
        [page] = await pages(s)
        assert "resolved by heartbeat watchdog" in text_of(dms(s, page.primary or "")[0])


@pytest.mark.parametrize("path", [
    "/webhooks/heartbeat/watchdog/wrong-secret", f"/webhooks/heartbeat/nosuch/{BEAT_SECRET}",
    f"/webhooks/heartbeat/watchdog/{BEAT_SECRET}x", f"/webhooks/heartbeat/{BEAT_SECRET}/watchdog"])
async def test_a_ping_with_a_wrong_secret_or_name_is_refused_and_changes_nothing(
        tmp_path: Path, slack_contract: SlackContract, caplog: pytest.LogCaptureFixture, path: str) -> None:
    async with scenario(tmp_path, slack_contract, config=CONFIG, start=WEDNESDAY, environ=BEAT_ENV) as s:
        await advance(s, timedelta(minutes=4))
        status, answer = await post(s, path, {})
        assert status == 401 and answer["status"] == "unauthorized"
        await advance(s, timedelta(minutes=1))
        assert await silence_pages(s) == [PageStatus.TRIGGERED]  # the refused ping did not count
        assert 'switchman_webhooks_rejected_total{reason="unauthorized",source="heartbeat"} 1.0' in \
            await get_metrics(s)
    assert BEAT_SECRET not in caplog.text


async def test_a_heartbeat_without_secret_env_takes_no_http_pings(tmp_path: Path,
                                                                   slack_contract: SlackContract) -> None:
    config = CONFIG.replace(", secret_env: WATCHDOG_SECRET", "")
    async with scenario(tmp_path, slack_contract, config=config, start=WEDNESDAY, environ=BEAT_ENV) as s:
        status, _ = await post(s, PING, {})
        assert status == 401


@pytest.mark.parametrize(("heartbeat", "problem"), [
    ("{watchdog: {every: 300}}", "has no unit"),
    ("{watchdog: {every: 1s}}", "every must be at least 10s"),
    ("{watchdog: {every: 5m, secret_env: lower-case}}", "secret_env"),
    ("{watchdog: {every: 5m, when: always}}", "when"),
])
def test_heartbeats_are_validated(heartbeat: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(PAGING_CONFIG.replace("    routing_keys: [R0123", f"    heartbeats: {heartbeat}\n"
                                                                       "    routing_keys: [R0123"))
    assert problem in str(refused.value)


def test_heartbeat_names_are_unique_across_rotations() -> None:
    beat = "    heartbeats: {watchdog: {every: 5m}}\n"
    config = PAGING_CONFIG.replace("    routing_keys: [", beat + "    routing_keys: [")
    with pytest.raises(ConfigError) as refused:
        parse_config(config)
    assert "heartbeat names must be unique across rotations" in str(refused.value)
