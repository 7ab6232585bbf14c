"""Alertmanager's own PagerDuty integration (`pagerduty_configs`) pointed at Switchman: only the URL changes."""

from __future__ import annotations

from pathlib import Path

from bot.oncall.models import PageStatus
from tests.contracts.slack_contract import SlackContract
from tests.oncall.alertmanager_bed import ROUTE, fire, until
from tests.oncall.paging_scenario import API_KEY, PAGING_CONFIG, WEDNESDAY, dms, pages, text_of
from tests.release.scenario import scenario
from tests.support.monitoring_servers import alertmanager_with


async def test_alertmanager_pagerduty_config_triggers_and_resolves_a_page(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY) as s:
        url = s.stack.app_url.replace("/slack/events", "/v2/enqueue")
        config = (f"route: {{receiver: pagerduty, group_by: [alertname], {ROUTE}}}\n"
                  "receivers:\n"
                  "  - name: pagerduty\n"
                  "    pagerduty_configs:\n"
                  f"      - {{routing_key: \"{API_KEY}\", url: \"{url}\", send_resolved: true, severity: critical}}\n")
        async with alertmanager_with(tmp_path, config) as am:
            labels = {"alertname": "DiskFull", "instance": "db-1", "service": "api"}
            await fire(am.url, labels)

            async def opened() -> bool:
                return len(await pages(s)) == 1
            await until(s, opened, "Alertmanager's trigger event opened a page")
            [page] = await pages(s)
            assert (page.rotation, page.source, page.status) == ("api-oncall", "events", PageStatus.TRIGGERED)
            assert len(page.dedup_key) == 64  # Alertmanager's dedup key: the sha256 of its group key
            assert page.details["client"] == "Alertmanager" and page.details["severity"] == "critical"
            assert "DiskFull" in text_of(dms(s, "U01OPS1")[0])

            await fire(am.url, labels, resolve=True)

            async def resolved() -> bool:
                return [p.status for p in await pages(s)] == [PageStatus.RESOLVED]
            await until(s, resolved, "Alertmanager's resolve event resolved the page")
            assert "resolved" in text_of(dms(s, "U01OPS1")[0])
