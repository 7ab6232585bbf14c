"""A real Alertmanager in front of the paging test bed: write its config, drive its alerts, wait on Switchman.

Alertmanager runs on real time (short group_wait/group_interval), Switchman on simulated time;
tests wait on conditions with deadlines, never for fixed times. Alerts are created and resolved
through Alertmanager's own API (`POST /api/v2/alerts`, `endsAt` in the past resolves).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx

from tests.release.scenario import Scenario

ROUTE = "group_wait: 0s, group_interval: 1s, repeat_interval: 1h"


def webhook_receiver(s: Scenario, secret: str, *, name: str = "switchman") -> str:
    url = s.stack.app_url.replace("/slack/events", "/webhooks/alertmanager")
    return (f"  - name: {name}\n"
            "    webhook_configs:\n"
            f"      - url: \"{url}\"\n"
            "        send_resolved: true\n"
            f"        http_config: {{authorization: {{type: Bearer, credentials: \"{secret}\"}}}}\n")


async def fire(am_url: str, *alerts: dict[str, str], resolve: bool = False) -> None:
    """Send alerts (label sets) to Alertmanager, firing or (with `resolve`) ended a second ago."""
    now = datetime.now(UTC)  # Alertmanager itself runs on real time
    body = [{"labels": labels, "annotations": {"summary": f"{labels.get('alertname')} on {labels.get('instance')}"},
             "startsAt": (now - timedelta(minutes=1)).isoformat(),
             **({"endsAt": (now - timedelta(seconds=1)).isoformat()} if resolve else {})} for labels in alerts]
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{am_url}/api/v2/alerts", json=body)
    assert answer.status_code == 200, answer.text


async def until(s: Scenario, condition: Callable[[], Awaitable[bool]], what: str, within: float = 30) -> None:
    """Wait until Switchman's state satisfies `condition` (Alertmanager delivers on its own schedule)."""
    try:
        async with asyncio.timeout(within):
            while True:
                if await condition():
                    break
                await asyncio.sleep(0.1)  # polling for another process's delivery, not a fixed wait
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None
    await s.stack.settle()
