"""The webhook endpoints over HTTP: authentication, malformed bodies, routing; refusals store nothing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.oncall.alerts import firing_alerts
from bot.oncall.models import PageStatus
from tests.contracts.slack_contract import SlackContract
from tests.oncall.paging_scenario import (
    API_KEY,
    ENVIRON,
    PAGING_CONFIG,
    SECRET,
    WEB_KEY,
    WEDNESDAY,
    alertmanager_payload,
    alerts,
    bearer,
    dms,
    get_metrics,
    notifications,
    pagerduty_event,
    pages,
    post,
)
from tests.release.scenario import Scenario, scenario

ALERTMANAGER, EVENTS = "/webhooks/alertmanager", "/webhooks/events"
EVENTS_PATHS = [EVENTS, "/v2/enqueue", "/webhooks/events/v2/enqueue"]


async def nothing_stored(s: Scenario) -> None:
    assert await pages(s) == [] and await alerts(s) == [] and await notifications(s) == []
    assert not [e for e in s.stack.workspace.events if e.kind == "message"]


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong-secret"}, {"Authorization": f"Basic {SECRET}"},
    {"Authorization": f"Bearer {SECRET}x"}, {"Authorization": SECRET},
])
async def test_alertmanager_refuses_a_missing_or_wrong_bearer_token(
        tmp_path: Path, slack_contract: SlackContract, headers: dict[str, str],
        caplog: pytest.LogCaptureFixture) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        status, answer = await post(s, ALERTMANAGER, alertmanager_payload(), headers=headers)
        assert status == 401 and answer["status"] == "unauthorized"
        await nothing_stored(s)
    assert SECRET not in caplog.text


async def test_alertmanager_is_disabled_without_a_shared_secret(tmp_path: Path, slack_contract: SlackContract,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY) as s:
        with caplog.at_level(logging.WARNING, logger="bot.web.webhooks"):
            status, answer = await post(s, ALERTMANAGER, alertmanager_payload(), headers=bearer())
        assert status == 401 and "disabled" in answer["message"]
        assert "endpoint is disabled until SWITCHMAN_WEBHOOK_SECRET is set" in caplog.text
        await nothing_stored(s)


@pytest.mark.parametrize(("body", "problem"), [
    (b"{not json", "the body is not valid JSON"),
    (b"[1, 2]", "the body must be a JSON object"),
    ({**alertmanager_payload(), "version": "3"}, "version"),
    ({k: v for k, v in alertmanager_payload().items() if k != "groupKey"}, "groupKey: Field required"),
    ({**alertmanager_payload(), "alerts": [{"status": "firing"}]}, "alerts.0.labels: Field required"),
    ({**alertmanager_payload(), "alerts": "many"}, "alerts"),
    (alertmanager_payload(status="burning"), "status"),
])
async def test_alertmanager_answers_400_with_the_reason_for_a_malformed_payload(
        tmp_path: Path, slack_contract: SlackContract, body: Any, problem: str) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        raw = body if isinstance(body, bytes) else None
        status, answer = await post(s, ALERTMANAGER, body, headers=bearer(), raw=raw)
        assert status == 400
        assert problem in answer["reason"] or any(problem in e for e in answer["errors"])
        await nothing_stored(s)


@pytest.mark.parametrize("path", EVENTS_PATHS)
async def test_events_refuse_an_unknown_routing_key_with_401_in_pagerdutys_shape(
        tmp_path: Path, slack_contract: SlackContract, caplog: pytest.LogCaptureFixture, path: str) -> None:
    wrong = "Rzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        status, answer = await post(s, path, pagerduty_event(routing_key=wrong))
        # A failed authentication is 401 (§6), in PagerDuty's body shape; its clients do not retry a 4xx.
        assert (status, answer) == (401, {"status": "unauthorized", "message": "Event object is invalid",
                                          "errors": ["Invalid routing key"]})
        # Authentication comes before validation: a bad body with a bad key is refused for its key.
        status, answer = await post(s, path, {"routing_key": wrong, "event_action": "explode"})
        assert status == 401 and answer["errors"] == ["Invalid routing key"]
        await nothing_stored(s)
        metrics = await get_metrics(s)
        assert 'switchman_webhooks_received_total{source="events"} 2.0' in metrics
        assert 'switchman_webhooks_rejected_total{reason="routing_key",source="events"} 2.0' in metrics
    assert wrong not in caplog.text and API_KEY not in caplog.text


@pytest.mark.parametrize("path", EVENTS_PATHS)
async def test_every_events_path_answers_in_pagerduty_shape(tmp_path: Path, slack_contract: SlackContract,
                                                            path: str) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        status, answer = await post(s, path, pagerduty_event())
        assert (status, answer) == (202, {"status": "success", "message": "Event processed",
                                          "dedup_key": "db-disk-full"})
        status, answer = await post(s, path, pagerduty_event(payload={"summary": "x", "source": "y"}))
        assert status == 400 and answer["status"] == "invalid event"
        assert answer["message"] == "Event object is invalid" and answer["errors"] == [
            "payload.severity: Field required"]
        assert [p.dedup_key for p in await pages(s)] == ["db-disk-full"]


@pytest.mark.parametrize(("body", "problem"), [
    (b"", "the body is not valid JSON"),
    ({"event_action": "trigger"}, "routing_key is required"),
    ({**pagerduty_event(), "event_action": "explode"}, "event_action"),
    ({k: v for k, v in pagerduty_event().items() if k != "payload"}, "payload: a trigger event needs a payload"),
    (pagerduty_event(payload={"summary": "x", "source": "y", "severity": "fatal"}), "payload.severity"),
    (pagerduty_event(payload={"summary": "", "source": "y", "severity": "info"}), "payload.summary"),
    (pagerduty_event(dedup_key="k" * 256), "dedup_key"),
    (pagerduty_event("resolve", dedup_key=None), "dedup_key: resolve events need the dedup_key"),
])
async def test_events_answer_400_with_the_reason_for_a_malformed_event(
        tmp_path: Path, slack_contract: SlackContract, body: Any, problem: str) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        raw = body if isinstance(body, bytes) else None
        status, answer = await post(s, EVENTS, body, raw=raw)
        assert status == 400 and answer["status"] == "invalid event"
        assert problem in answer["message"] or any(problem in e for e in answer["errors"])
        assert API_KEY not in str(answer)
        await nothing_stored(s)


async def test_alerts_route_by_service_label_or_rotation_label_and_unrouted_ones_are_only_stored(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        _, web = await post(s, ALERTMANAGER, alertmanager_payload(fingerprint="f1", labels={"service": "web"}),
                            headers=bearer())
        _, named = await post(s, ALERTMANAGER, alertmanager_payload(
            fingerprint="f2", labels={"service": "api", "rotation": "web-oncall"}, group_key="{}:{service=\"api\"}"),
            headers=bearer())
        _, nobody = await post(s, ALERTMANAGER, alertmanager_payload(fingerprint="f3", labels={"service": "billing"}),
                               headers=bearer())
        assert (web["opened"], named["opened"], nobody["unrouted"]) == ([1], [2], ["f3"])
        assert [(p.rotation, p.service) for p in await pages(s)] == [("web-oncall", "web"), ("web-oncall", "api")]
        assert len(dms(s, "U01OPS3")) == 2
        assert {a.fingerprint for a in await alerts(s)} == {"f1", "f2", "f3"}
        async with s.stack.ctx.db.session() as session:
            assert [a.fingerprint for a in await firing_alerts(session, service="billing")] == ["f3"]


async def test_events_route_by_routing_key_and_a_page_without_escalation_policy_never_escalates(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=PAGING_CONFIG, start=WEDNESDAY, environ=ENVIRON) as s:
        status, _ = await post(s, EVENTS, pagerduty_event(routing_key=WEB_KEY, payload={
            "summary": "web is slow", "source": "lb-1", "severity": "warning", "component": "web"}))
        assert status == 202
        [page] = await pages(s)
        assert (page.rotation, page.service, page.status, page.next_escalation_at) == (
            "web-oncall", "web", PageStatus.TRIGGERED, None)
        assert not [j for j in s.stack.ctx.scheduler.jobs() if j.id.startswith("page-")]
