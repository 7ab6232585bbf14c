"""Nothing unrouted is dropped (§6): through a real Alertmanager, an alert no rotation claims pages
`fallback_rotation`, else is posted once in `unrouted_channel`; check-config warns when neither is set."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.loader import ConfigError, parse_config
from bot.oncall.models import PageStatus
from tests.contracts.slack_contract import SlackContract
from tests.oncall.alertmanager_bed import ROUTE, fire, until, webhook_receiver
from tests.oncall.paging_scenario import (
    ENVIRON,
    PAGING_CONFIG,
    SECRET,
    WEDNESDAY,
    alertmanager_payload,
    bearer,
    channel_messages,
    dms,
    get_metrics,
    pages,
    post,
    text_of,
)
from tests.release.scenario import Scenario, scenario
from tests.support.monitoring_servers import alertmanager_with

BILLING = {"alertname": "InvoiceBacklog", "instance": "billing-1", "service": "billing", "severity": "warning"}


def alertmanager_config(s: Scenario) -> str:
    return (f"route: {{receiver: switchman, group_by: [alertname, service], {ROUTE}}}\n"
            "receivers:\n" + webhook_receiver(s, SECRET))


async def test_an_alert_no_rotation_claims_pages_the_fallback_rotations_pair(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    config = PAGING_CONFIG + "fallback_rotation: web-oncall\n"
    async with scenario(tmp_path, slack_contract, config=config, start=WEDNESDAY, environ=ENVIRON) as s, \
            alertmanager_with(tmp_path, alertmanager_config(s)) as am:
        await fire(am.url, BILLING)

        async def paged() -> bool:
            return len(await pages(s)) == 1
        await until(s, paged, "the unrouted alert opened a page")
        [page] = await pages(s)
        assert (page.rotation, page.primary, page.shadow) == ("web-oncall", "U01OPS3", "U01DEV3")
        assert "InvoiceBacklog" in text_of(dms(s, "U01OPS3")[0]) and "InvoiceBacklog" in text_of(dms(s, "U01DEV3")[0])
        assert dms(s, "U01OPS1") == []
        assert "switchman_alerts_unrouted_total 1.0" in await get_metrics(s)

        await fire(am.url, BILLING, resolve=True)

        async def resolved() -> bool:
            return [p.status for p in await pages(s)] == [PageStatus.RESOLVED]
        await until(s, resolved, "the fallback page resolved with its alert")


async def test_without_a_fallback_rotation_the_alert_is_posted_once_in_the_unrouted_channel(
        tmp_path: Path, slack_contract: SlackContract, caplog: pytest.LogCaptureFixture) -> None:
    config = PAGING_CONFIG + 'unrouted_channel: "#alerts-unrouted"\n'
    async with scenario(tmp_path, slack_contract, config=config, start=WEDNESDAY, environ=ENVIRON) as s, \
            alertmanager_with(tmp_path, alertmanager_config(s)) as am:
        s.stack.workspace.add_channel("#alerts-unrouted")
        await fire(am.url, BILLING)

        async def posted() -> bool:
            return len(channel_messages(s, "#alerts-unrouted")) == 1
        await until(s, posted, "the unrouted alert was posted in the unrouted channel")
        [message] = channel_messages(s, "#alerts-unrouted")
        assert "InvoiceBacklog" in text_of(message) and "nobody was paged" in text_of(message)
        assert "`service=billing`" in text_of(message)
        assert await pages(s) == []
        assert any(r.levelname == "WARNING" and "alert matches no rotation; posted in unrouted_channel"
                   in r.getMessage() for r in caplog.records)

        # Alertmanager repeats a firing alert (repeat_interval); the channel hears of it once.
        status, answer = await post(s, "/webhooks/alertmanager", alertmanager_payload(
            fingerprint="f00d", labels={"service": "billing"}), headers=bearer())
        assert status == 200 and answer["routes"] == {"f00d": ["unrouted_channel:#alerts-unrouted"]}
        status, _ = await post(s, "/webhooks/alertmanager", alertmanager_payload(
            fingerprint="f00d", labels={"service": "billing"}), headers=bearer())
        assert status == 200 and len(channel_messages(s, "#alerts-unrouted")) == 2

        await fire(am.url, BILLING, resolve=True)

        async def edited() -> bool:
            return "resolved" in text_of(channel_messages(s, "#alerts-unrouted")[0])
        await until(s, edited, "the unrouted post shows the alert resolved")
        assert len(channel_messages(s, "#alerts-unrouted")) == 2


async def test_the_webhook_answer_says_where_each_alert_went(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        _, routed = await post(s, "/webhooks/alertmanager", alertmanager_payload(fingerprint="f1"), headers=bearer())
        _, lost = await post(s, "/webhooks/alertmanager", alertmanager_payload(
            fingerprint="f2", labels={"service": "billing"}), headers=bearer())
        assert routed["routes"] == {"f1": ["rotation:api-oncall"]}
        assert (lost["routes"], lost["unrouted"]) == ({"f2": ["nowhere"]}, ["f2"])


def test_fallback_rotation_must_name_a_rotation() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(PAGING_CONFIG + "fallback_rotation: db-oncall\n")
    assert "fallback_rotation: 'db-oncall' is not a rotation (defined: api-oncall, web-oncall)" in str(refused.value)
    with pytest.raises(ConfigError):
        parse_config(PAGING_CONFIG + "unrouted_channel: not-a-channel\n")


@pytest.mark.parametrize(("extra", "warned"), [
    ("", True), ("fallback_rotation: web-oncall\n", False), ('unrouted_channel: "#alerts"\n', False)])
def test_check_config_warns_when_unrouted_alerts_would_only_be_stored(tmp_path: Path, extra: str,
                                                                       warned: bool) -> None:
    path = tmp_path / "switchman.yml"
    path.write_text(PAGING_CONFIG + extra)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "OK" in result.stdout
    assert ("warning: neither fallback_rotation nor unrouted_channel is set" in result.stderr) is warned
