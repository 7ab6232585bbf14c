"""`/metrics` after pages were opened, escalated, acknowledged and resolved and people texted: the counters
and histogram by rotation and method, the outbox's depth and Slack's 429s — and `promtool check metrics`
(the real binary from the Debian `prometheus` package) accepts the exposition."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.contracts.slack_contract import SlackContract
from tests.fakes.smtp_server import SmtpServer
from tests.fakes.twilio_server import FakeTwilio
from tests.oncall.contacts_scenario import CONTACT_ENVIRON, contacts_config, smtp, twilio
from tests.oncall.paging_scenario import WEDNESDAY, pagerduty_event, post, webhook_url
from tests.oncall.schedule_scenario import advance
from tests.oncall.test_paging import pair
from tests.release.scenario import Scenario, scenario
from tests.support.monitoring_servers import binary

__all__ = ["smtp", "twilio"]  # fixtures
LEAD = "U01LEAD"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def scrape(s: Scenario) -> str:
    async with httpx.AsyncClient() as client:
        response = await client.get(webhook_url(s, "/metrics"))
    assert response.status_code == 200
    return response.text


async def test_paging_metrics_pass_promtool(tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio,
                                            smtp: SmtpServer) -> None:
    promtool = binary(("promtool",), "prometheus")
    async with scenario(tmp_path, slack_contract, config=contacts_config(twilio.url, smtp), start=WEDNESDAY,
                        environ=CONTACT_ENVIRON) as s:
        primary, _ = await pair(s)
        await post(s, "/webhooks/events", pagerduty_event(dedup_key="first"))
        twilio.inject(400, code=21211, message="The 'To' number is not a valid phone number.")
        await advance(s, timedelta(minutes=5))  # SMS failed, the call went out, escalated to the lead
        await s.command(LEAD, "ack 1", command="/oncall")  # acked 5 min 0 s after opening
        await s.command(LEAD, "resolve 1", command="/oncall")
        await post(s, "/webhooks/events", pagerduty_event(dedup_key="second"))
        await advance(s, timedelta(seconds=30))
        await s.command(primary, "ack 2", command="/oncall")  # 30 s
        await post(s, "/webhooks/events", pagerduty_event("resolve", dedup_key="second"))
        text = await scrape(s)

    found = samples(text)
    rotation = ("rotation", "api-oncall")
    for event, count in (("opened", 2), ("escalated", 1), ("acknowledged", 2), ("resolved", 2)):
        assert found[("switchman_pages_total", (("event", event), rotation))] == count, event
    assert found[("switchman_page_time_to_ack_seconds_count", (rotation,))] == 2
    assert found[("switchman_page_time_to_ack_seconds_sum", (rotation,))] == 330
    assert found[("switchman_page_time_to_ack_seconds_bucket", (("le", "60.0"), rotation))] == 1
    assert found[("switchman_page_time_to_ack_seconds_bucket", (("le", "300.0"), rotation))] == 2
    assert found[("switchman_page_notifications_total", (("method", "sms"), ("outcome", "failed")))] == 1
    assert found[("switchman_page_notifications_total", (("method", "voice"), ("outcome", "sent")))] == 1
    assert found[("switchman_page_notifications_total", (("method", "email"), ("outcome", "sent")))] == 1
    assert found[("switchman_outbox_pending_messages", ())] == 0  # everything reached Slack
    assert ("switchman_slack_rate_limited_total", ()) in found

    process = await asyncio.create_subprocess_exec(promtool, "check", "metrics", stdin=asyncio.subprocess.PIPE,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate(text.encode())
    assert process.returncode == 0, output.decode()


async def test_the_outbox_depth_is_read_from_the_database_and_slack_429s_are_counted(
        tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio, smtp: SmtpServer) -> None:
    async with scenario(tmp_path, slack_contract, config=contacts_config(twilio.url, smtp), start=WEDNESDAY,
                        environ=CONTACT_ENVIRON) as s:
        assert s.stack.ctx.outbox is not None
        await s.stack.settle()  # start-up's own messages are out and no outbox worker is still running
        wake = s.stack.ctx.outbox.wake
        s.stack.ctx.outbox.wake = lambda: None  # type: ignore[method-assign]  # Slack's messages wait
        await post(s, "/webhooks/events", pagerduty_event())
        assert samples(await scrape(s))[("switchman_outbox_pending_messages", ())] == 3  # 2 DMs, the channel post
        s.stack.ctx.outbox.wake = wake  # type: ignore[method-assign]
        s.stack.api.fail("chat.postMessage", status=429, retry_after=1)
        wake()
        await advance(s, timedelta(seconds=5))
        found = samples(await scrape(s))
        assert found[("switchman_outbox_pending_messages", ())] == 0
        assert found[("switchman_slack_rate_limited_total", ())] >= 1
