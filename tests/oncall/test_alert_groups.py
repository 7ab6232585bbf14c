"""One page per Alertmanager group, through a real Alertmanager: opened once, edited as alerts
resolve, resolved with the last of them; `group_pages: false` keeps one page per alert."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.oncall.models import PageStatus
from tests.contracts.slack_contract import SlackContract
from tests.oncall.alertmanager_bed import fire, until, webhook_receiver
from tests.oncall.paging_scenario import (
    ENVIRON,
    PAGING_CONFIG,
    SECRET,
    WEDNESDAY,
    alertmanager_payload,
    bearer,
    channel_messages,
    dms,
    pages,
    post,
    text_of,
)
from tests.release.scenario import Scenario, scenario
from tests.support.monitoring_servers import alertmanager_with

INSTANCES = [f"api-{n}" for n in range(1, 6)]


def alert(instance: str) -> dict[str, str]:
    return {"alertname": "HighLatency", "service": "api", "severity": "critical", "instance": instance}


def alertmanager_config(s: Scenario) -> str:
    # group_wait lets the five alerts sent in one request land in one first notification.
    return ("route: {receiver: switchman, group_by: [alertname, service], group_wait: 1s, group_interval: 1s,\n"
            "        repeat_interval: 1h}\n"
            "receivers:\n" + webhook_receiver(s, SECRET))


async def listed(s: Scenario) -> dict[str, str]:
    """instance → status of the alerts listed on the one page there is."""
    all_pages = await pages(s)
    assert len(all_pages) <= 1, f"the group opened {len(all_pages)} pages"
    if not all_pages:
        return {}
    return {e["labels"]["instance"]: e["status"] for e in all_pages[0].details.get("alerts", {}).values()}


async def test_a_group_of_five_alerts_is_one_page_updated_as_alerts_resolve_and_closed_when_all_have(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s, \
            alertmanager_with(tmp_path, alertmanager_config(s)) as am:
        await fire(am.url, *(alert(i) for i in INSTANCES))

        async def five_firing() -> bool:
            return await listed(s) == dict.fromkeys(INSTANCES, "firing")
        await until(s, five_firing, "one page lists the five firing alerts")
        [page] = await pages(s)
        assert page.dedup_key.startswith("group:") and page.status == PageStatus.TRIGGERED
        assert page.title == "HighLatency (service=api): 5 of 5 alerts firing"
        [dm] = dms(s, page.primary or "")
        assert "5 of 5 alerts firing" in text_of(dm) and "instance=api-3" in text_of(dm)

        await fire(am.url, alert("api-1"), alert("api-2"), resolve=True)

        async def two_resolved() -> bool:
            return await listed(s) == {**dict.fromkeys(INSTANCES, "firing"), "api-1": "resolved", "api-2": "resolved"}
        await until(s, two_resolved, "the page lists two alerts resolved")
        [page] = await pages(s)
        assert (page.status, page.title) == (PageStatus.TRIGGERED, "HighLatency (service=api): 3 of 5 alerts firing")
        for person in (page.primary or "", page.shadow or ""):
            [dm] = dms(s, person)  # edited in place, nobody DMed twice
            assert "3 of 5 alerts firing" in text_of(dm) and "✅ resolved — HighLatency" in text_of(dm)
        [post_in_channel] = channel_messages(s, "api-oncall")
        assert "3 of 5 alerts firing" in text_of(post_in_channel)

        await fire(am.url, *(alert(i) for i in INSTANCES[2:]), resolve=True)

        async def closed() -> bool:
            return [p.status for p in await pages(s)] == [PageStatus.RESOLVED]
        await until(s, closed, "the page resolved with the group's last alert")
        [page] = await pages(s)
        assert (page.resolved_by, page.title) == ("alertmanager", "HighLatency (service=api): 0 of 5 alerts firing")
        [dm] = dms(s, page.primary or "")
        assert "resolved by alertmanager" in text_of(dm)


async def test_group_pages_false_keeps_one_page_per_alert(tmp_path: Path, slack_contract: SlackContract) -> None:
    config = PAGING_CONFIG.replace("    routing_keys: [R0123", "    group_pages: false\n    routing_keys: [R0123")
    async with scenario(tmp_path, slack_contract, config=config, start=WEDNESDAY, environ=ENVIRON) as s:
        for fingerprint in ("a1", "a2"):
            status, _ = await post(s, "/webhooks/alertmanager", alertmanager_payload(fingerprint=fingerprint),
                                   headers=bearer())
            assert status == 200
        assert [p.dedup_key for p in await pages(s)] == ['{}:{alertname="HighErrorRate"}:a1',
                                                          '{}:{alertname="HighErrorRate"}:a2']
        _, answer = await post(s, "/webhooks/alertmanager", alertmanager_payload(fingerprint="a1", status="resolved"),
                               headers=bearer())
        assert answer["resolved"] == [1]
        assert [p.status for p in await pages(s)] == [PageStatus.RESOLVED, PageStatus.TRIGGERED]


async def test_a_repeated_notification_changes_nothing_and_a_resolved_group_without_a_page_opens_none(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        _, first = await post(s, "/webhooks/alertmanager", alertmanager_payload(), headers=bearer())
        _, again = await post(s, "/webhooks/alertmanager", alertmanager_payload(), headers=bearer())
        assert (first["opened"], again["duplicates"], again["updated"]) == ([1], [1], [])
        _, other = await post(s, "/webhooks/alertmanager", alertmanager_payload(
            status="resolved", group_key='{}:{alertname="Other"}'), headers=bearer())
        assert other["opened"] == [] and len(await pages(s)) == 1


async def test_two_notifications_of_one_group_at_once_open_one_page_listing_both_alerts(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        answers = await asyncio.gather(*(post(s, "/webhooks/alertmanager", alertmanager_payload(
            fingerprint=f, labels={"instance": f}), headers=bearer()) for f in ("i1", "i2", "i3")))
        assert [status for status, _ in answers] == [200, 200, 200]
        [page] = await pages(s)
        assert set(page.details["alerts"]) == {"i1", "i2", "i3"}
        assert page.title == "HighErrorRate: 3 of 3 alerts firing"
        assert len(dms(s, page.primary or "")) == 1
